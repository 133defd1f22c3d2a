/**
 * The derivations of defineResource, one by one: what a declaration accepts and refuses, and what
 * it derives for routing, matching, keys and CDN paths.
 */
import { ValidationError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { ParamKind, ResourceSpec, Sharing, canonicalQuery, defineResource, parseParam } from '../../../../lambda/runtime/resources/resource';
import { TtlClass, ttlClass } from '../../../../lambda/runtime/ttl';

const product = defineResource<{ id: number }>({ name: 'product', path: '/api/products/{id}', sharing: Sharing.PUBLIC, ttl: TtlClass.PRODUCT });
const list = defineResource<{ items: number[] }>({
  name: 'product-list',
  path: '/api/products',
  query: { page: { kind: ParamKind.PAGE, default: 1 }, category: { kind: ParamKind.SLUG } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
});
const pagedList = defineResource<{ items: number[] }>({
  name: 'paged-list',
  path: '/api/shelves/{shelf}/items',
  params: { shelf: ParamKind.SLUG },
  query: { page: { kind: ParamKind.PAGE, default: 1 }, sort: { kind: ParamKind.SLUG } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
  paging: { pageParam: 'page', listTags: (params) => [`shelf:${params.shelf}`] },
});
const review = defineResource({
  name: 'review',
  path: '/api/v1.0/products/{productId}/reviews/{slug}',
  params: { slug: ParamKind.SLUG },
  sharing: Sharing.PUBLIC,
  ttl: 60,
});
const summary = defineResource<{ id: number }>({ name: 'user-summary', path: '/api/users/{id}', sharing: Sharing.PER_SUBJECT, subjectParam: 'id', ttl: TtlClass.USER_PROFILE });

/** The ValidationError `run` throws, as field and message. */
function refusal(run: () => unknown): { field: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a ValidationError');
}

function declare(overrides: Partial<ResourceSpec<unknown>>): () => unknown {
  return () => defineResource({ name: 'thing', path: '/api/things/{id}', sharing: Sharing.PUBLIC, ttl: 60, ...overrides });
}

describe('the enums a declaration is written with', () => {
  test('have stable values (they appear in errors and derived configuration)', () => {
    expect(Object.values(Sharing)).toEqual(['public', 'per-subject']);
    expect(Object.values(ParamKind)).toEqual(['id', 'slug', 'page']);
  });
});

describe('parseParam', () => {
  test.each([
    [ParamKind.ID, '1', 1],
    [ParamKind.ID, '42', 42],
    [ParamKind.ID, '9007199254740991', Number.MAX_SAFE_INTEGER],
    [ParamKind.PAGE, '1', 1],
    [ParamKind.PAGE, '10000', 10_000],
    [ParamKind.SLUG, 'a', 'a'],
    [ParamKind.SLUG, 'garden-tools-2', 'garden-tools-2'],
    [ParamKind.SLUG, 's'.repeat(64), 's'.repeat(64)],
  ])('a %s reads %j as %p', (kind, raw, value) => {
    expect(parseParam('p', kind, raw)).toBe(value);
  });

  test.each([
    [ParamKind.ID, '0', 'must be a positive integer no greater than 9007199254740991, got "0"'],
    [ParamKind.ID, '042', 'must be a positive integer no greater than 9007199254740991, got "042"'],
    [ParamKind.ID, '9007199254740992', 'must be a positive integer no greater than 9007199254740991, got "9007199254740992"'],
    [ParamKind.ID, '12345678901234567', 'must be a positive integer no greater than 9007199254740991, got "12345678901234567"'],
    [ParamKind.ID, '-1', 'must be a positive integer no greater than 9007199254740991, got "-1"'],
    [ParamKind.ID, '1 ', 'must be a positive integer no greater than 9007199254740991, got "1 "'],
    [ParamKind.ID, ' 1', 'must be a positive integer no greater than 9007199254740991, got " 1"'],
    [ParamKind.ID, '', 'must be a positive integer no greater than 9007199254740991, got ""'],
    [ParamKind.PAGE, '0', 'must be an integer between 1 and 10000, got "0"'],
    [ParamKind.PAGE, '10001', 'must be an integer between 1 and 10000, got "10001"'],
    [ParamKind.PAGE, '01', 'must be an integer between 1 and 10000, got "01"'],
    [ParamKind.SLUG, '', 'must be 1 to 64 lower-case letters, digits or hyphens, got ""'],
    [ParamKind.SLUG, 's'.repeat(65), `must be 1 to 64 lower-case letters, digits or hyphens, got "${'s'.repeat(64)}"`],
    [ParamKind.SLUG, 'Garden', 'must be 1 to 64 lower-case letters, digits or hyphens, got "Garden"'],
    [ParamKind.SLUG, 'a_b', 'must be 1 to 64 lower-case letters, digits or hyphens, got "a_b"'],
    [ParamKind.SLUG, 'a b', 'must be 1 to 64 lower-case letters, digits or hyphens, got "a b"'],
    [ParamKind.SLUG, '-a/', 'must be 1 to 64 lower-case letters, digits or hyphens, got "-a/"'],
  ])('a %s refuses %j as a 400 naming the field', (kind, raw, message) => {
    expect(refusal(() => parseParam('p', kind, raw))).toEqual({ field: 'p', message: `p ${message}` });
  });

  test('quotes at most 64 characters of a refused value', () => {
    expect(refusal(() => parseParam('id', ParamKind.ID, 'x'.repeat(100))).message).toBe(`id must be a positive integer no greater than 9007199254740991, got "${'x'.repeat(64)}"`);
    expect(refusal(() => parseParam('page', ParamKind.PAGE, '9'.repeat(100))).message).toBe(`page must be an integer between 1 and 10000, got "${'9'.repeat(64)}"`);
  });
});

describe('canonicalQuery', () => {
  const query = { page: { kind: ParamKind.PAGE, default: 1 }, category: { kind: ParamKind.SLUG }, b: { kind: ParamKind.ID } };

  test('sorts by name, omits absent parameters and those equal to their default', () => {
    expect(canonicalQuery(query, { page: 2, category: 'books', b: 7 })).toBe('b=7&category=books&page=2');
    expect(canonicalQuery(query, { page: 1, category: 'books' })).toBe('category=books');
    expect(canonicalQuery(query, { page: 1 })).toBe('');
    expect(canonicalQuery(query, {})).toBe('');
    expect(canonicalQuery(query, { page: 3, other: 'x' })).toBe('page=3');
    expect(canonicalQuery({}, { id: 1 })).toBe('');
  });
});

describe('derived routing and CDN shape', () => {
  test('the route key is GET and the path template', () => {
    expect(product.routeKey).toBe('GET /api/products/{id}');
    expect(list.routeKey).toBe('GET /api/products');
  });

  test('the CloudFront path pattern puts * for each parameter segment', () => {
    expect(product.pathPattern).toBe('/api/products/*');
    expect(list.pathPattern).toBe('/api/products');
    expect(review.pathPattern).toBe('/api/v1.0/products/*/reviews/*');
  });

  test('the query names are sorted; the declaration itself is kept', () => {
    expect(list.queryNames).toEqual(['category', 'page']);
    expect(product.queryNames).toEqual([]);
    expect(list.name).toBe('product-list');
    expect(list.ttl).toBe(TtlClass.PRODUCT_LIST);
    expect(summary.subjectParam).toBe('id');
  });
});

describe('match', () => {
  test('reads path parameters by kind, ID by default', () => {
    expect(product.match('/api/products/42', '')).toEqual({ id: 42 });
    expect(review.match('/api/v1.0/products/7/reviews/great-stuff', '')).toEqual({ productId: 7, slug: 'great-stuff' });
  });

  test.each([
    ['/api/products', product],
    ['/api/products/', product],
    ['/api/products/1/2', product],
    ['/api/products/1/', product],
    ['/x/api/products/1', product],
    ['api/products/1', product],
    ['/api/v1x0/products/7/reviews/a', review],
    ['/api/products/1', list],
    ['/api/productsx', list],
  ])('is undefined for %s, which is not this resource', (path, resource) => {
    expect(resource.match(path, '')).toBeUndefined();
  });

  test('refuses a bad path parameter as a 400 naming it', () => {
    expect(refusal(() => product.match('/api/products/abc', ''))).toEqual({ field: 'id', message: 'id must be a positive integer no greater than 9007199254740991, got "abc"' });
    expect(refusal(() => review.match('/api/v1.0/products/7/reviews/Caps', '')).field).toBe('slug');
  });

  test('applies defaults and accepts the canonical query only', () => {
    expect(list.match('/api/products', '')).toEqual({ page: 1, category: undefined });
    expect(list.match('/api/products', 'page=2')).toEqual({ page: 2, category: undefined });
    expect(list.match('/api/products', 'category=books')).toEqual({ page: 1, category: 'books' });
    expect(list.match('/api/products', 'category=books&page=3')).toEqual({ page: 3, category: 'books' });
  });

  test.each([
    ['parameters out of order', 'page=3&category=books', '"category=books&page=3"', '"page=3&category=books"'],
    ['a parameter equal to its default', 'page=1', '""', '"page=1"'],
    ['a trailing &', 'page=2&', null, null],
  ])('refuses %s, telling the canonical form', (_label, query, canonical, got) => {
    const { field, message } = refusal(() => list.match('/api/products', query));
    if (canonical === null) {
      expect(field).toBe('query');
      return;
    }
    expect({ field, message }).toEqual({ field: 'query', message: `the query string must be in its canonical form ${canonical} (parameters sorted, defaults omitted), got ${got}` });
  });

  test('quotes at most 64 characters of a non-canonical query', () => {
    const query = `category=${'c'.repeat(60)}&page=1`;
    expect(refusal(() => list.match('/api/products', query)).message).toBe(
      `the query string must be in its canonical form "category=${'c'.repeat(60)}" (parameters sorted, defaults omitted), got ${JSON.stringify(query.slice(0, 64))}`,
    );
  });

  test('refuses an unknown parameter, naming it and what is accepted', () => {
    expect(refusal(() => list.match('/api/products', 'sort=asc'))).toEqual({ field: 'sort', message: 'unknown query parameter "sort" (accepted: category, page)' });
    expect(refusal(() => product.match('/api/products/1', 'x=1'))).toEqual({ field: 'x', message: 'unknown query parameter "x" (this resource accepts none)' });
    expect(refusal(() => list.match('/api/products', '&page=2'))).toEqual({ field: 'query', message: 'unknown query parameter "" (accepted: category, page)' });
    expect(refusal(() => list.match('/api/products', '=1'))).toEqual({ field: 'query', message: 'unknown query parameter "" (accepted: category, page)' });
    expect(refusal(() => list.match('/api/products', 'toString=1')).field).toBe('toString');
    expect(refusal(() => list.match('/api/products', `${'n'.repeat(80)}=1`)).message).toBe(`unknown query parameter "${'n'.repeat(64)}" (accepted: category, page)`);
  });

  test('refuses a repeated parameter, and a parameter without a value', () => {
    expect(refusal(() => list.match('/api/products', 'page=2&page=2'))).toEqual({ field: 'page', message: 'query parameter page must be given at most once' });
    expect(refusal(() => list.match('/api/products', 'page'))).toEqual({ field: 'page', message: 'page must be an integer between 1 and 10000, got ""' });
    expect(refusal(() => list.match('/api/products', 'category='))).toEqual({ field: 'category', message: 'category must be 1 to 64 lower-case letters, digits or hyphens, got ""' });
  });

  test('a value may itself hold "="', () => {
    expect(refusal(() => list.match('/api/products', 'category=a=b'))).toEqual({ field: 'category', message: 'category must be 1 to 64 lower-case letters, digits or hyphens, got "a=b"' });
  });
});

describe('keys, canonical URLs and CDN paths', () => {
  const keys = new CacheKeys();
  const cluster = new CacheKeys({ clusterMode: true });

  test('the key holds path then query parameters in name order, _ for an absent one', () => {
    expect(product.key(keys, { id: 42 })).toBe('app:v1:product:42');
    expect(list.key(keys, { page: 2, category: 'books' })).toBe('app:v1:product-list:books:2');
    expect(list.key(keys, { page: 1, category: undefined })).toBe('app:v1:product-list:_:1');
    expect(review.key(cluster, { productId: 7, slug: 'x' })).toBe('app:v1:{review:7:x}');
  });

  test('the last page number of a paged list is keyed like its pages, with last-page where the page number goes', () => {
    expect(pagedList.lastPageKey(keys, { shelf: 'tea', page: 7, sort: 'new' })).toBe('app:v1:paged-list:tea:last-page:new');
    expect(pagedList.lastPageKey(keys, { shelf: 'tea', page: 1, sort: undefined })).toBe('app:v1:paged-list:tea:last-page:_');
    expect(pagedList.lastPageKey(cluster, { shelf: 'tea', page: 2 })).toBe('app:v1:{paged-list:tea:last-page:_}');
    expect(() => list.lastPageKey(keys, { page: 2 })).toThrow(new RangeError('resource product-list: lastPageKey needs `paging`, which this resource does not declare'));
  });

  test('the canonical URL fills the path and appends the canonical query when there is one', () => {
    expect(product.canonicalUrl({ id: 42 })).toBe('/api/products/42');
    expect(list.canonicalUrl({ page: 1, category: undefined })).toBe('/api/products');
    expect(list.canonicalUrl({ page: 2, category: 'books' })).toBe('/api/products?category=books&page=2');
    expect(review.canonicalUrl({ productId: 7, slug: 'x' })).toBe('/api/v1.0/products/7/reviews/x');
  });

  test('a public answer is purged under its canonical URL; a per-subject one has no CDN path', () => {
    expect(product.cdnPaths({ id: 42 })).toEqual(['/api/products/42']);
    expect(list.cdnPaths({ page: 1, category: 'books' })).toEqual(['/api/products?category=books']);
    expect(list.cdnPaths({ page: 1 })).toEqual(['/api/products']);
    expect(summary.cdnPaths({ id: 3 })).toEqual([]);
    expect(summary.canonicalUrl({ id: 3 })).toBe('/api/users/3');
  });

  test('what match reads, canonicalUrl spells back, for every resource', () => {
    for (const [resource, url] of [
      [product, '/api/products/9'],
      [list, '/api/products?category=a-1&page=10000'],
      [review, '/api/v1.0/products/1/reviews/z'],
    ] as const) {
      const [path, query = ''] = url.split('?');
      expect(resource.canonicalUrl(resource.match(path, query)!)).toBe(url);
    }
  });
});

describe('defineResource refuses a bad declaration, naming what is wrong', () => {
  test.each([
    ['a name with a capital', { name: 'Product' }, 'defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got "Product"'],
    ['a name starting with a digit', { name: '1product' }, 'defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got "1product"'],
    ['a name of 33 characters', { name: 'a'.repeat(33) }, `defineResource: \`name\` must match /^[a-z][a-z0-9-]{0,31}$/, got "${'a'.repeat(33)}"`],
    ['an empty name', { name: '' }, 'defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got ""'],
    ['a name with "_"', { name: 'a_b' }, 'defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got "a_b"'],
    ['a path without a leading /', { path: 'api/things' }, 'resource thing: path must start with / and hold no ? or *, got "api/things"'],
    ['a path with a query', { path: '/api/things?x=1' }, 'resource thing: path must start with / and hold no ? or *, got "/api/things?x=1"'],
    ['a path with a wildcard', { path: '/api/things/*' }, 'resource thing: path must start with / and hold no ? or *, got "/api/things/*"'],
    ['an empty segment', { path: '/api//things' }, 'resource thing: path segment "" must be a literal or one {param}'],
    ['a trailing /', { path: '/api/things/' }, 'resource thing: path segment "" must be a literal or one {param}'],
    ['a segment with a space', { path: '/api/a b' }, 'resource thing: path segment "a b" must be a literal or one {param}'],
    ['a placeholder starting with a digit', { path: '/api/{1d}' }, 'resource thing: path segment "{1d}" must be a literal or one {param}'],
    ['a placeholder within a segment', { path: '/api/x{id}' }, 'resource thing: a {param} must be a whole path segment, got "x{id}"'],
    ['a placeholder followed by text', { path: '/api/{id}x' }, 'resource thing: a {param} must be a whole path segment, got "{id}x"'],
    ['two placeholders in a segment', { path: '/api/{a}{b}' }, 'resource thing: a {param} must be a whole path segment, got "{a}{b}"'],
    ['a repeated parameter', { path: '/api/{id}/x/{id}' }, 'resource thing: path parameter id appears twice'],
    ['params for no placeholder', { params: { other: ParamKind.SLUG } }, 'resource thing: params.other is not a placeholder of /api/things/{id}'],
    ['a query name with a capital first', { query: { Page: { kind: ParamKind.PAGE } } }, 'resource thing: query parameter name must match /^[a-z][A-Za-z0-9_]{0,31}$/, got "Page"'],
    ['a query name of 33 characters', { query: { ['q'.repeat(33)]: { kind: ParamKind.PAGE } } }, `resource thing: query parameter name must match /^[a-z][A-Za-z0-9_]{0,31}$/, got "${'q'.repeat(33)}"`],
    ['a query name with "-"', { query: { 'a-b': { kind: ParamKind.PAGE } } }, 'resource thing: query parameter name must match /^[a-z][A-Za-z0-9_]{0,31}$/, got "a-b"'],
    ['a query parameter named like a path one', { query: { id: { kind: ParamKind.ID } } }, 'resource thing: id is both a path and a query parameter'],
    ['a default spelled as text', { query: { page: { kind: ParamKind.PAGE, default: '1' } } }, 'resource thing: query.page.default must be a canonical page, got "1"'],
    ['a slug default as a number', { query: { c: { kind: ParamKind.SLUG, default: 5 } } }, 'resource thing: query.c.default must be a canonical slug, got 5'],
    ['a default no request could carry', { query: { page: { kind: ParamKind.PAGE, default: 0 } } }, 'resource thing: query.page.default must be a canonical page, got 0'],
    ['a public resource with a subject', { subjectParam: 'id' }, 'resource thing: subjectParam and ownerOf are for Sharing.PER_SUBJECT only'],
    ['a public resource with an owner', { ownerOf: (): string => '1' }, 'resource thing: subjectParam and ownerOf are for Sharing.PER_SUBJECT only'],
    ['a per-subject resource without subject or owner', { sharing: Sharing.PER_SUBJECT }, 'resource thing: a per-subject resource needs subjectParam or ownerOf'],
    ['a subject that is no path parameter', { sharing: Sharing.PER_SUBJECT, subjectParam: 'user' }, 'resource thing: subjectParam user is not a path parameter of /api/things/{id}'],
    ['a TTL of 0', { ttl: 0 }, 'resource thing: `ttl` must be a TtlClass (user_profile, product_list, product, config, analytics, order, not_found), a class from ttlClass()/defineTtlClasses(), or an integer number of seconds between 1 and 2592000, got 0'],
    ['a TTL over 30 days', { ttl: 2_592_001 }, 'resource thing: `ttl` must be a TtlClass (user_profile, product_list, product, config, analytics, order, not_found), a class from ttlClass()/defineTtlClasses(), or an integer number of seconds between 1 and 2592000, got 2592001'],
    ['paging on a parameter that is no page number', { query: { page: { kind: ParamKind.PAGE, default: 1 }, c: { kind: ParamKind.SLUG } }, paging: { pageParam: 'c', listTags: (): string[] => [] } }, 'resource thing: `paging.pageParam` must name a query parameter declared with ParamKind.PAGE, got "c"'],
    ['paging on an undeclared parameter', { paging: { pageParam: 'page', listTags: (): string[] => [] } }, 'resource thing: `paging.pageParam` must name a query parameter declared with ParamKind.PAGE, got "page"'],
    ['paging of a list found by its owner', { sharing: Sharing.PER_SUBJECT, ownerOf: (): string => '1', query: { page: { kind: ParamKind.PAGE, default: 1 }, c: { kind: ParamKind.SLUG } }, paging: { pageParam: 'page', listTags: (): string[] => [] } }, "resource thing: `paging` needs the list's owner in the path (subjectParam), not `ownerOf`, so that its length is told to that subject only"],
    ['a fractional TTL', { ttl: 1.5 }, 'resource thing: `ttl` must be a TtlClass (user_profile, product_list, product, config, analytics, order, not_found), a class from ttlClass()/defineTtlClasses(), or an integer number of seconds between 1 and 2592000, got 1.5'],
  ])('%s', (_label, overrides, message) => {
    expect(declare(overrides as Partial<ResourceSpec<unknown>>)).toThrow(new RangeError(message));
  });
  test('more than 10 query parameters (a CloudFront allow list) are refused; 10 pass', () => {
    const query = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`q${i}`, { kind: ParamKind.PAGE }]));
    expect(declare({ query: query(11) })).toThrow(new RangeError('resource thing: at most 10 query parameters (a CloudFront cache key allow list), got 11'));
    expect((declare({ query: query(10) })() as { queryNames: string[] }).queryNames).toHaveLength(10);
  });

  test.each([
    ['a one-letter name and TTL bounds', { name: 'a', ttl: 1 }],
    ['a 32-character name', { name: `a${'-'.repeat(30)}9`, ttl: 2_592_000 }],
    ['a 32-character query name', { query: { [`q${'_Z9'.repeat(10)}x`]: { kind: ParamKind.ID } } }],
    ['literal segments of every allowed character', { path: '/Az09._~-/{id}' }],
    ['a per-subject resource with an owner', { sharing: Sharing.PER_SUBJECT, ownerOf: () => '1' }],
    ['a per-subject resource with a subject', { sharing: Sharing.PER_SUBJECT, subjectParam: 'id' }],
    ['a paged list', { query: { page: { kind: ParamKind.PAGE, default: 1 }, c: { kind: ParamKind.SLUG } }, paging: { pageParam: 'page', listTags: (): string[] => [] } }],
    ['a per-subject paged list with a subject', { sharing: Sharing.PER_SUBJECT, subjectParam: 'id', query: { page: { kind: ParamKind.PAGE, default: 1 }, c: { kind: ParamKind.SLUG } }, paging: { pageParam: 'page', listTags: (): string[] => [] } }],
    ['canonical defaults', { query: { page: { kind: ParamKind.PAGE, default: 1 }, c: { kind: ParamKind.SLUG, default: 'all' } } }],
  ])('accepts %s', (_label, overrides) => {
    expect(declare(overrides as Partial<ResourceSpec<unknown>>)).not.toThrow();
  });
});

describe('defineResource checks what the types state, also for a caller in plain JavaScript', () => {
  const TTL_RULE = 'a TtlClass (user_profile, product_list, product, config, analytics, order, not_found), a class from ttlClass()/defineTtlClasses(), or an integer number of seconds between 1 and 2592000';
  test.each([
    ['a TTL written as text', { ttl: '3600' }, `resource thing: \`ttl\` must be ${TTL_RULE}, got "3600"`],
    ['a TTL class that does not exist', { ttl: 'recipe' }, `resource thing: \`ttl\` must be ${TTL_RULE}, got "recipe"`],
    ['a TTL class object not made by ttlClass', { ttl: { name: 'recipe', defaultSeconds: '600' } }, `resource thing: \`ttl\` must be ${TTL_RULE}, got {"name":"recipe","defaultSeconds":"600"}`],
    ['no TTL', { ttl: undefined }, `resource thing: \`ttl\` must be ${TTL_RULE}, got undefined`],
    ['an unknown parameter kind', { params: { id: 'uuid' } }, 'resource thing: `params.id` must be a ParamKind ("id", "slug", "page"), got "uuid"'],
    ['an unknown query parameter kind', { query: { page: { kind: 'int' } } }, 'resource thing: `query.page.kind` must be a ParamKind ("id", "slug", "page"), got "int"'],
    ['a query parameter without a spec', { query: { page: 'page' } }, 'resource thing: `query.page.kind` must be a ParamKind ("id", "slug", "page"), got "page"'],
    ['no sharing', { sharing: undefined }, 'resource thing: `sharing` is required (Sharing.PUBLIC: the same answer for everyone, cached at the edge; Sharing.PER_SUBJECT: one subject\'s data, never in a shared cache)'],
    ['an unknown sharing', { sharing: 'private' }, 'resource thing: `sharing` must be one of "public", "per-subject" (Sharing), got "private"'],
    ['a misspelt prop', { shareing: 'public' }, 'resource thing: unknown prop `shareing`; a declaration holds name, path, params, query, sharing, subjectParam, ownerOf, ttl, staleWhileRevalidate, version, tags, loader, paging'],
    ['a path that is not a string', { path: 42 }, 'resource thing: `path` must be a string such as "/api/recipes/{id}", got 42'],
    ['tags that are not a function', { tags: ['a'] }, 'resource thing: `tags` must be a function of the value, got ["a"]'],
    ['staleWhileRevalidate as text', { staleWhileRevalidate: 'yes' }, 'resource thing: `staleWhileRevalidate` must be a boolean, got "yes"'],
    ['a loader timeout of 0', { loader: { hardTimeoutMs: 0 } }, 'resource thing: `loader.hardTimeoutMs` must be an integer between 1 and 900000 milliseconds, got 0'],
    ['an unknown loader prop', { loader: { timeoutMs: 5 } }, 'resource thing: unknown prop `loader.timeoutMs`; a loader policy holds softTimeoutMs, hardTimeoutMs, graceBackoffMs'],
    ['a loader timeout above 15 minutes', { loader: { softTimeoutMs: 900_001 } }, 'resource thing: `loader.softTimeoutMs` must be an integer between 1 and 900000 milliseconds, got 900001'],
    ['a fractional loader timeout', { loader: { graceBackoffMs: 1.5 } }, 'resource thing: `loader.graceBackoffMs` must be an integer between 1 and 900000 milliseconds, got 1.5'],
    ['a loader timeout as text', { loader: { hardTimeoutMs: '5' } }, 'resource thing: `loader.hardTimeoutMs` must be an integer between 1 and 900000 milliseconds, got "5"'],
    ['a loader that is not an object', { loader: 5000 }, 'resource thing: `loader` must be an object ({ softTimeoutMs?, hardTimeoutMs?, graceBackoffMs? }), got 5000'],
    ['a loader given as a list', { loader: [1] }, 'resource thing: `loader` must be an object ({ softTimeoutMs?, hardTimeoutMs?, graceBackoffMs? }), got [1]'],
    ['params given as a list', { params: ['id'] }, 'resource thing: `params` must be an object of parameter name to ParamKind, got ["id"]'],
    ['params given as null', { params: null }, 'resource thing: `params` must be an object of parameter name to ParamKind, got null'],
    ['query given as text', { query: 'page' }, 'resource thing: `query` must be an object of parameter name to { kind, default? }, got "page"'],
    ['a subject parameter that is not a name', { sharing: Sharing.PER_SUBJECT, subjectParam: 1 }, 'resource thing: `subjectParam` must be a path parameter name, got 1'],
    ['a version that is a function name', { version: 'version' }, 'resource thing: `version` must be a function of the value, got "version"'],
    ['paging given as a parameter name', { paging: 'page' }, 'resource thing: `paging` must be an object ({ pageParam, listTags }), got "page"'],
    ['an unknown paging prop', { paging: { pageParam: 'page', listTags: (): string[] => [], pageSize: 20 } }, 'resource thing: unknown prop `paging.pageSize`; paging holds pageParam, listTags'],
    ['list tags given as a list', { paging: { pageParam: 'page', listTags: ['shelf'] } }, 'resource thing: `paging.listTags` must be a function of the params, got ["shelf"]'],
    ['an owner given as a value', { ownerOf: 42 }, 'resource thing: `ownerOf` must be a function of the value, got 42'],
  ])('refuses %s', (_label, overrides, message) => {
    expect(declare(overrides as unknown as Partial<ResourceSpec<unknown>>)).toThrow(new RangeError(message));
  });

  test('refuses a declaration that is not an object, or a name that is not a string', () => {
    expect(() => defineResource(undefined as unknown as ResourceSpec<unknown>)).toThrow(new RangeError('defineResource: the declaration must be an object, got undefined'));
    expect(declare({ name: 7 } as unknown as Partial<ResourceSpec<unknown>>)).toThrow(new RangeError('defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got 7'));
  });

  test('names a value it cannot print as JSON, and a function as such', () => {
    expect(declare({ params: { id: () => 'id' } } as unknown as Partial<ResourceSpec<unknown>>)).toThrow(new RangeError('resource thing: `params.id` must be a ParamKind ("id", "slug", "page"), got a function'));
    expect(declare({ ttl: 10n } as unknown as Partial<ResourceSpec<unknown>>)).toThrow(/got 10$/);
    expect(declare({ name: undefined } as unknown as Partial<ResourceSpec<unknown>>)).toThrow(new RangeError('defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got undefined'));
    expect(declare({ name: 'Thing' })).toThrow(new RangeError('defineResource: `name` must match /^[a-z][a-z0-9-]{0,31}$/, got "Thing"'));
  });

  test('accepts a loader policy at its bounds, and staleWhileRevalidate as a boolean', () => {
    expect(declare({ loader: { softTimeoutMs: 1, hardTimeoutMs: 900_000, graceBackoffMs: undefined }, staleWhileRevalidate: false })).not.toThrow();
  });

  test('accepts a TTL class of the app (ttlClass) and every ParamKind', () => {
    const recipe = ttlClass('recipe', 600);
    expect((declare({ ttl: recipe, params: { id: ParamKind.SLUG } })() as { ttl: unknown }).ttl).toBe(recipe);
  });
});

describe('parse (lenient about spelling, strict about values)', () => {
  test('a valid query in another spelling parses with canonical: false', () => {
    expect(list.parse('/api/products', 'category=books&page=2')).toEqual({ params: { page: 2, category: 'books' }, canonical: true });
    expect(list.parse('/api/products', 'page=2&category=books')).toEqual({ params: { page: 2, category: 'books' }, canonical: false });
    expect(list.parse('/api/products', 'page=%32')).toEqual({ params: { page: 2, category: undefined }, canonical: false });
    expect(list.parse('/api/products', 'p%61ge=2')).toEqual({ params: { page: 2, category: undefined }, canonical: false });
    expect(list.parse('/api/products', '')).toEqual({ params: { page: 1, category: undefined }, canonical: true });
    expect(list.parse('/api/other', '')).toBeUndefined();
  });

  test('"+" decodes to a space, which no kind accepts', () => {
    expect(refusal(() => list.parse('/api/products', 'category=a+b'))).toEqual({ field: 'category', message: 'category must be 1 to 64 lower-case letters, digits or hyphens, got "a b"' });
    expect(refusal(() => list.parse('/api/products', 'category=a%2Bb')).message).toBe('category must be 1 to 64 lower-case letters, digits or hyphens, got "a+b"');
  });

  test('a malformed percent-escape is a 400 naming the parameter, or the query for a name', () => {
    expect(refusal(() => list.parse('/api/products', 'page=%3'))).toEqual({ field: 'page', message: 'page holds a malformed percent-escape: "%3"' });
    expect(refusal(() => list.parse('/api/products', `category=%E0%A4${'a'.repeat(80)}`)).message).toBe(
      `category holds a malformed percent-escape: ${JSON.stringify(`%E0%A4${'a'.repeat(80)}`.slice(0, 64))}`,
    );
    expect(refusal(() => list.parse('/api/products', '%zz=1'))).toEqual({ field: 'query', message: 'query holds a malformed percent-escape: "%zz"' });
  });

  test('match refuses a percent-encoded spelling that parse accepts', () => {
    expect(refusal(() => list.match('/api/products', 'page=%32'))).toEqual({
      field: 'query',
      message: 'the query string must be in its canonical form "page=2" (parameters sorted, defaults omitted), got "page=%32"',
    });
  });
});

describe('matchesPath', () => {
  test('accepts any value in a parameter segment, and only this resource\'s literal segments', () => {
    expect(product.matchesPath('/api/products/abc')).toBe(true);
    expect(product.matchesPath('/api/products/42')).toBe(true);
    expect(product.matchesPath('/api/products')).toBe(false);
    expect(product.matchesPath('/api/products/1/2')).toBe(false);
    expect(review.matchesPath('/api/v1.0/products/x/reviews/y')).toBe(true);
    expect(review.matchesPath('/api/v1x0/products/x/reviews/y')).toBe(false);
  });
});
