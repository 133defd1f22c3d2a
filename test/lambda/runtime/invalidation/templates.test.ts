import { UnprocessableEventError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import {
  KeyBuilder,
  KeyTemplate,
  MAX_EXPANSIONS_PER_TEMPLATE,
  TemplateError,
  checkInvalidationMapping,
  checkKeyTemplate,
  checkPathTemplate,
  encodePathValue,
  expandKeys,
  expandPaths,
  expandTemplate,
  parseTemplate,
} from '../../../../lambda/runtime/invalidation/templates';
import { ParamKind, Sharing, defineResource } from '../../../../lambda/runtime/resources/resource';

const PREFIX = 'app:v1:';

// Declared here, not imported from the shop: a mapping needs nothing but a declaration.
const product = defineResource({ name: 'product', path: '/api/products/{id}', sharing: Sharing.PUBLIC, ttl: 60 });
const productList = defineResource({
  name: 'product-list',
  path: '/api/products',
  query: { category: { kind: ParamKind.SLUG }, page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: 60,
});
const review = defineResource({ name: 'review', path: '/api/products/{id}/reviews/{reviewId}', sharing: Sharing.PUBLIC, ttl: 60 });
const user = defineResource({ name: 'user', path: '/api/users/{id}', sharing: Sharing.PER_SUBJECT, subjectParam: 'id', ttl: 60 });
const config = defineResource({ name: 'config', path: '/api/config', sharing: Sharing.PUBLIC, ttl: 60 });

describe('checkInvalidationMapping (synth time)', () => {
  it('accepts typed key templates, full key templates and path templates', () => {
    const spec = checkInvalidationMapping(
      {
        source: 'shop.catalog',
        detailType: 'ProductUpdated',
        keys: [KeyTemplate.resource('product', ['{detail.id}']), 'app:v1:{product:{detail.id}}:extra', KeyTemplate.resourcePattern(productList)],
        paths: ['/api/products/{detail.id}', '/api/products*'],
      },
      PREFIX,
    );
    expect(spec.keys).toEqual([
      { builder: 'resource', args: ['product', '{detail.id}'] },
      { key: 'app:v1:{product:{detail.id}}:extra' },
      { builder: 'resourcePattern', args: ['product-list'] },
    ]);
    expect(spec.tags).toEqual([]);
    expect(spec.reason).toBe('ProductUpdated from shop.catalog');
  });

  it.each([
    ['a placeholder outside detail', { paths: ['/api/{id}'] }, 'paths[0] has placeholder {id}: placeholders must be {detail.<field>'],
    ['a bare {detail}', { paths: ['/api/{detail}'] }, 'paths[0] has placeholder {detail}'],
    ['a path without a leading slash', { paths: ['api/products/{detail.id}'] }, 'paths[0] must start with "/"'],
    ['a * before the end', { paths: ['/api/*/{detail.id}'] }, 'paths[0] may hold "*" only as its last character'],
    ['a ~ in a path', { paths: ['/~{detail.id}'] }, 'paths[0] is not a valid CloudFront path'],
    ['a key outside the namespace', { keys: ['other:v1:product:{detail.id}'] }, 'keys[0] must be within the app\'s key namespace: start with "app:v1:"'],
    ['a key of another schema version', { keys: ['app:v2:product:{detail.id}'] }, 'keys[0] must be within the app\'s key namespace'],
    ['a glob in a key', { keys: ['app:v1:product:*'] }, 'keys[0] is a key, not a pattern'],
    ['a pattern outside the namespace', { keys: [KeyTemplate.pattern('*')] }, 'keys[0] must be within the app\'s key namespace'],
    ['a builder argument with a colon', { keys: [KeyTemplate.resource('product', ['a:{detail.id}'])] }, 'keys[0] argument 2 may hold only letters'],
    ['a resource name with a capital', { keys: [KeyTemplate.resource('Product', ['1'])] }, 'keys[0] names resource "Product"; a resource name must match'],
    ['nothing to invalidate', {}, 'mapping names no resources, tags, keys or paths: it would invalidate nothing'],
    ['empty lists', { resources: [], tags: [], keys: [], paths: [] }, 'mapping names no resources, tags, keys or paths'],
    ['a tag with a slash', { tags: ['category/{detail.slug}'] }, 'tags[0] may hold only letters, digits, "_", ".", ":" and "-" around placeholders, got "category/{detail.slug}"'],
    ['an empty tag', { tags: ['x', ''] }, 'tags[1] must not be empty'],
    ['a bad tag placeholder', { tags: ['product:{id}'] }, 'tags[0] has placeholder {id}: placeholders must be'],
    ['a missing path parameter', { resources: [{ resource: product, params: {} }] }, 'resources[0].params.id is missing: resource product needs its path parameter id'],
    ['an unknown parameter', { resources: [{ resource: product, params: { id: '{detail.id}', slug: '{detail.slug}' } }] }, 'resources[0].params.slug is not a parameter of resource product (it has id)'],
    ['an unknown parameter of a resource with two', { resources: [{ resource: review, params: { id: '1', reviewId: '2', x: '3' } }] }, 'resources[0].params.x is not a parameter of resource review (it has id, reviewId)'],
    ['a parameter of a resource without any', { resources: [{ resource: config, params: { name: 'x' } }] }, 'resources[0].params.name is not a parameter of resource config (it has none)'],
    [
      'a missing query parameter',
      { resources: [{ resource: productList, params: { category: '{detail.category}' } }] },
      "resources[0].params.page is missing: resource product-list is keyed on its query parameter page, so an event must name its value; to purge every page at once, tag the values (defineResource tags) and list the tag in the mapping's tags",
    ],
    ['a parameter template with a colon', { resources: [{ resource: product, params: { id: 'p:{detail.id}' } }] }, 'resources[0].params argument 2 may hold only letters'],
    ['no resource', { resources: [{ resource: undefined as never, params: {} }] }, 'resources[0].resource must be a declared resource (defineResource)'],
    ['a resource that is no declaration', { resources: [{ resource: { name: 'x' } as never, params: {} }] }, 'resources[0].resource must be a declared resource'],
    ['params that are no object', { resources: [{ resource: product, params: 'x' as never }] }, 'resources[0].params must be an object of templates, got "x"'],
  ])('rejects %s with a message naming the prop', (_label, mapping, message) => {
    expect(() => checkInvalidationMapping({ source: 'shop', detailType: 'Changed', ...mapping }, PREFIX)).toThrow(message);
  });

  it('rejects a malformed source or detail type', () => {
    expect(() => checkInvalidationMapping({ source: '', detailType: 'X', paths: ['/a'] }, PREFIX)).toThrow(/^source must be 1-256 characters/);
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'has space', paths: ['/a'] }, PREFIX)).toThrow(/^detailType must be/);
  });
});

describe('expanding templates (run time)', () => {
  const event = { id: 'e1', source: 'shop.catalog', 'detail-type': 'ProductUpdated', detail: { id: 42, ids: [1, 2], sku: 'a/b*c d', nested: { category: 'books' }, empty: [] } };

  it('substitutes nested fields and fans out arrays', () => {
    expect(expandTemplate('/p/{detail.id}', event, encodePathValue)).toEqual(['/p/42']);
    expect(expandTemplate('/c/{detail.nested.category}/{detail.ids}', event, encodePathValue)).toEqual(['/c/books/1', '/c/books/2']);
    expect(expandTemplate('/x/{detail.empty}', event, encodePathValue)).toEqual([]);
  });

  it('encodes a path value so it stays in its segment and cannot become a wildcard', () => {
    expect(expandTemplate('/sku/{detail.sku}', event, encodePathValue)).toEqual(['/sku/a%2Fb%2Ac%20d']);
    expect(encodePathValue("ok-_.!'()")).toBe("ok-_.!'()");
    expect(encodePathValue('é?#%')).toBe('%C3%A9%3F%23%25');
  });

  it.each([
    ['missing', '/p/{detail.nope}', /detail\.nope is missing in the event/],
    ['an object', '/p/{detail.nested}', /detail\.nested is not a string or number \(object\)/],
  ])('sends an event whose field is %s to the DLQ with the reason', (_label, template, reason) => {
    expect(() => expandTemplate(template, event, encodePathValue)).toThrow(UnprocessableEventError);
    expect(() => expandTemplate(template, event, encodePathValue)).toThrow(reason);
  });

  it('refuses a fan-out beyond the cap', () => {
    const big = { detail: { a: Array.from({ length: 40 }, (_, i) => i), b: Array.from({ length: 40 }, (_, i) => i) } };
    expect(() => expandTemplate('/{detail.a}/{detail.b}', big, encodePathValue)).toThrow(`more than ${MAX_EXPANSIONS_PER_TEMPLATE}`);
  });

  it('spells keys through CacheKeys, with hash tags in cluster mode', () => {
    const mapping = checkInvalidationMapping(
      {
        source: 'shop.catalog',
        detailType: 'ProductUpdated',
        keys: [KeyTemplate.resource('product', ['{detail.ids}']), KeyTemplate.resource('product-list', ['{detail.nested.category}', '1']), KeyTemplate.resourcePattern(product)],
        paths: ['/api/products/{detail.id}'],
      },
      PREFIX,
    );
    expect(expandKeys(mapping, event, new CacheKeys())).toEqual({
      keys: ['app:v1:product:1', 'app:v1:product:2', 'app:v1:product-list:books:1'],
      patterns: ['app:v1:product:*'],
      tags: [],
    });
    expect(expandKeys(mapping, event, new CacheKeys({ clusterMode: true }))).toEqual({
      keys: ['app:v1:{product:1}', 'app:v1:{product:2}', 'app:v1:{product-list:books:1}'],
      patterns: ['app:v1:{product:*'],
      tags: [],
    });
    expect(expandPaths(mapping, event)).toEqual(['/api/products/42']);
  });

  it('refuses a key value that would change the key structure', () => {
    const mapping = checkInvalidationMapping({ source: 's', detailType: 'D', keys: ['app:v1:product:{detail.sku}', KeyTemplate.resource('order', ['{detail.sku}'])] }, PREFIX);
    expect(() => expandKeys(mapping, event, new CacheKeys())).toThrow(/key template value "a\/b\*c d" must be 1-64 letters/);
    const builderOnly = checkInvalidationMapping({ source: 's', detailType: 'D', keys: [KeyTemplate.resource('product-list', ['x', '{detail.sku}'])] }, PREFIX);
    expect(() => expandKeys(builderOnly, event, new CacheKeys())).toThrow(UnprocessableEventError);
  });
});

describe('parsing templates', () => {
  it('keeps the text after the last placeholder', () => {
    const event = { detail: { id: 42 } };
    expect(expandTemplate('/api/products/{detail.id}/reviews', event, encodePathValue)).toEqual(['/api/products/42/reviews']);
    expect(expandTemplate('{detail.id}', event, encodePathValue)).toEqual(['42']);
    expect(expandTemplate('{detail.id}{detail.id}', event, encodePathValue)).toEqual(['4242']);
    expect(expandTemplate('/static', event, encodePathValue)).toEqual(['/static']);
  });

  it('splits literals and placeholders, leaving braces around other text literal', () => {
    expect(parseTemplate('f', 'a{detail.x}b{detail.y.z}')).toEqual([
      { literal: 'a' },
      { field: ['detail', 'x'], text: '{detail.x}' },
      { literal: 'b' },
      { field: ['detail', 'y', 'z'], text: '{detail.y.z}' },
    ]);
    expect(parseTemplate('f', 'app:v1:{product:{detail.id}}')).toEqual([{ literal: 'app:v1:{product:' }, { field: ['detail', 'id'], text: '{detail.id}' }, { literal: '}' }]);
    expect(parseTemplate('f', '')).toEqual([]);
    expect(parseTemplate('f', '{detail.a}{detail.b}')).toEqual([
      { field: ['detail', 'a'], text: '{detail.a}' },
      { field: ['detail', 'b'], text: '{detail.b}' },
    ]);
    expect(parseTemplate('f', '{a b}')).toEqual([{ literal: '{a b}' }]);
  });

  it.each([
    ['{detail.}', 'has placeholder {detail.}'],
    ['{detail..x}', 'has placeholder {detail..x}'],
    ['{details.x}', 'has placeholder {details.x}'],
    ['{x.detail.y}', 'has placeholder {x.detail.y}'],
    ['{detail.x.}', 'has placeholder {detail.x.}'],
    ['{}', 'has placeholder {}'],
  ])('refuses the placeholder in %s, naming the field', (template, message) => {
    expect(() => parseTemplate('paths[3]', template)).toThrow(new TemplateError('paths[3]', `${message}: placeholders must be {detail.<field>[.<field>…]} (in ${JSON.stringify(template)})`));
  });

  it('accepts field names of letters, digits, "_" and "-"', () => {
    expect(expandTemplate('{detail.A_z-9}', { detail: { 'A_z-9': 'v' } }, encodePathValue)).toEqual(['v']);
  });

  it('a template that skipped the synth-time check is still refused at run time, naming it', () => {
    expect(() => expandTemplate('/{foo}', { detail: {} }, encodePathValue)).toThrow(/^template has placeholder \{foo\}/);
  });

  it('refuses a template that is not a string', () => {
    expect(() => parseTemplate('paths[0]', 42 as never)).toThrow(new TemplateError('paths[0]', 'must be a string, got number'));
  });

  it('names the field in the error', () => {
    const error = new TemplateError('keys[2]', 'is wrong');
    expect(error.field).toBe('keys[2]');
    expect(error.message).toBe('keys[2] is wrong');
    expect(error.name).toBe('TemplateError');
    expect(error).toBeInstanceOf(Error);
  });
});

describe('checking templates at synth time', () => {
  it('a path template is checked with its placeholders as sample values', () => {
    expect(checkPathTemplate('paths[0]', '/api/products/{detail.id}*')).toBe('/api/products/{detail.id}*');
    expect(checkPathTemplate('paths[0]', '/{detail.id}')).toBe('/{detail.id}');
    expect(() => checkPathTemplate('paths[1]', '/a/{detail.id}#x')).toThrow(
      new TemplateError('paths[1]', 'is not a valid CloudFront path: a path must not contain "#": a fragment never reaches CloudFront (in "/a/{detail.id}#x")'),
    );
    expect(() => checkPathTemplate('paths[1]', '{detail.id}')).toThrow(new TemplateError('paths[1]', 'must start with "/", got "{detail.id}"'));
    expect(() => checkPathTemplate('paths[1]', '/a*{detail.id}')).toThrow(new TemplateError('paths[1]', 'may hold "*" only as its last character, got "/a*{detail.id}"'));
  });

  it('a path template whose sample expansion is too long is refused', () => {
    expect(() => checkPathTemplate('paths[0]', `/${'a'.repeat(3998)}/{detail.id}`)).toThrow(/is not a valid CloudFront path: a path must be at most 4000 characters/);
    expect(checkPathTemplate('paths[0]', `/${'a'.repeat(3997)}/{detail.id}`)).toBe(`/${'a'.repeat(3997)}/{detail.id}`);
  });

  it('every typed key template names its builder and arguments', () => {
    const all = [
      KeyTemplate.resource('product', ['{detail.id}']),
      KeyTemplate.resource('product-list', ['{detail.c}', '{detail.p}']),
      KeyTemplate.resource('config', []),
      KeyTemplate.resourcePattern(user),
      KeyTemplate.key('app:v1:x:{detail.id}'),
      KeyTemplate.pattern('app:v1:x:*'),
    ];
    expect(all.map((t) => t.spec)).toEqual([
      { builder: 'resource', args: ['product', '{detail.id}'] },
      { builder: 'resource', args: ['product-list', '{detail.c}', '{detail.p}'] },
      { builder: 'resource', args: ['config'] },
      { builder: 'resourcePattern', args: ['user'] },
      { key: 'app:v1:x:{detail.id}' },
      { pattern: 'app:v1:x:*' },
    ]);
    for (const template of all) expect(checkKeyTemplate('keys[0]', template, PREFIX)).toBe(template.spec);
  });

  it('accepts a key template given as its JSON spec, and a builder argument of literal text', () => {
    expect(checkKeyTemplate('keys[0]', { builder: KeyBuilder.RESOURCE, args: ['config', 'global'] }, PREFIX)).toEqual({ builder: 'resource', args: ['config', 'global'] });
    expect(checkKeyTemplate('keys[0]', { builder: KeyBuilder.RESOURCE, args: ['product', 'p-{detail.id}.v2'] }, PREFIX)).toEqual({ builder: 'resource', args: ['product', 'p-{detail.id}.v2'] });
    expect(checkKeyTemplate('keys[0]', { builder: KeyBuilder.RESOURCE_PATTERN, args: ['a'.repeat(32)] }, PREFIX)).toEqual({ builder: 'resourcePattern', args: ['a'.repeat(32)] });
    expect(checkKeyTemplate('keys[0]', { pattern: 'app:v1:x:{detail.id}:*' }, PREFIX)).toEqual({ pattern: 'app:v1:x:{detail.id}:*' });
    expect(checkKeyTemplate('keys[0]', 'app:v1:{product:{detail.id}}', PREFIX)).toEqual({ key: 'app:v1:{product:{detail.id}}' });
  });

  it.each([
    ['null', null, 'must be a KeyTemplate or a full key template string'],
    ['undefined', undefined, 'must be a KeyTemplate or a full key template string'],
    ['a builder with one number argument among strings', { builder: 'resource', args: ['1', 2] }, 'must be a KeyTemplate or a full key template string'],
    ['a resource pattern with parts', { builder: 'resourcePattern', args: ['product', '1'] }, 'resourcePattern takes only the resource name, got 2 arguments'],
    ['a builder without a resource name', { builder: 'resource', args: [] }, 'names resource undefined; a resource name must match'],
    ['a resource name of 33 characters', { builder: 'resourcePattern', args: ['a'.repeat(33)] }, `names resource "${'a'.repeat(33)}"`],
    ['a resource name starting with a digit', { builder: 'resource', args: ['1a'] }, 'names resource "1a"'],
    ['a resource name with trailing text', { builder: 'resource', args: ['ok:x'] }, 'names resource "ok:x"'],
    ['a bad placeholder in a third argument', KeyTemplate.resource('product-list', ['a', '{foo}']), 'argument 3 has placeholder {foo}: placeholders must be'],
    ['a bad placeholder in a second argument', KeyTemplate.resource('product', ['{foo}']), 'argument 2 has placeholder {foo}: placeholders must be'],
    ['a number', 42, 'must be a KeyTemplate or a full key template string'],
    ['an object without key, pattern or builder', { other: 'x' }, 'must be a KeyTemplate or a full key template string'],
    ['a builder without args', { builder: 'resource' }, 'must be a KeyTemplate or a full key template string'],
    ['a builder with a number argument', { builder: 'resource', args: [1] }, 'must be a KeyTemplate or a full key template string'],
    ['a key that is no string', { key: 1 }, 'must be a KeyTemplate or a full key template string'],
    ['an unknown builder', { builder: 'widget', args: ['1'] }, 'names unknown builder "widget"'],
    ['an empty builder argument', { builder: 'resource', args: ['product', ''] }, 'argument 2 must not be empty'],
    ['a third argument with a space', { builder: 'resource', args: ['product-list', 'a', 'b c'] }, 'argument 3 may hold only letters, digits, "_", "." and "-" around placeholders, got "b c"'],
    ['whitespace in a full key', 'app:v1:a b:{detail.id}', 'must not contain whitespace, "<" or ">", got "app:v1:a b:{detail.id}"'],
    ['a tab in a full key', 'app:v1:a\tb', 'must not contain whitespace'],
    ['"<" in a full key', 'app:v1:<id>', 'must not contain whitespace, "<" or ">"'],
    ['">" in a pattern', { pattern: 'app:v1:a>*' }, 'must not contain whitespace, "<" or ">"'],
    ['"?" in a full key', 'app:v1:a?', 'is a key, not a pattern: use KeyTemplate.pattern() for "app:v1:a?"'],
    ['"[" in a full key', 'app:v1:a[', 'is a key, not a pattern'],
    ['"]" in a full key', 'app:v1:a]', 'is a key, not a pattern'],
  ])('refuses %s, naming the prop', (_label, template, message) => {
    expect(() => checkKeyTemplate('keys[4]', template as never, PREFIX)).toThrow(TemplateError);
    expect(() => checkKeyTemplate('keys[4]', template as never, PREFIX)).toThrow(`keys[4] ${message}`);
  });

  it('allows glob characters in a pattern', () => {
    expect(checkKeyTemplate('keys[0]', KeyTemplate.pattern('app:v1:a?[bc]*'), PREFIX)).toEqual({ pattern: 'app:v1:a?[bc]*' });
  });

  it('a mapping keeps its reason, or derives one; a reason is at most 256 characters', () => {
    const base = { source: 'shop.catalog', detailType: 'ProductUpdated', paths: ['/a'] };
    expect(checkInvalidationMapping({ ...base, reason: 'r' }, PREFIX)).toEqual({ source: 'shop.catalog', detailType: 'ProductUpdated', keys: [], paths: ['/a'], tags: [], reason: 'r' });
    expect(checkInvalidationMapping({ ...base, reason: 'r'.repeat(256) }, PREFIX).reason).toHaveLength(256);
    expect(() => checkInvalidationMapping({ ...base, reason: 'r'.repeat(257) }, PREFIX)).toThrow(new TemplateError('reason', 'must be at most 256 characters, got 257'));
    expect(checkInvalidationMapping({ source: 's', detailType: 'D', keys: ['app:v1:x'] }, PREFIX).paths).toEqual([]);
  });

  it('event names are 1-256 characters of letters, digits and "_.:/-"', () => {
    const name = 'aZ09_.:/-';
    expect(checkInvalidationMapping({ source: name, detailType: 'd'.repeat(256), paths: ['/a'], reason: 'r' }, PREFIX).source).toBe(name);
    expect(() => checkInvalidationMapping({ source: 's'.repeat(257), detailType: 'D', paths: ['/a'] }, PREFIX)).toThrow(
      new TemplateError('source', `must be 1-256 characters of letters, digits and "_.:/-", got "${'s'.repeat(257)}"`),
    );
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'D'.repeat(257), paths: ['/a'] }, PREFIX)).toThrow(/^detailType must be 1-256 characters/);
    expect(() => checkInvalidationMapping({ source: 'x s', detailType: 'D', paths: ['/a'] }, PREFIX)).toThrow(/^source must be/);
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'D\n', paths: ['/a'] }, PREFIX)).toThrow(/^detailType must be/);
    expect(() => checkInvalidationMapping({ source: '\ns', detailType: 'D', paths: ['/a'] }, PREFIX)).toThrow(/^source must be/);
    expect(() => checkInvalidationMapping({ detailType: 'D', paths: ['/a'] } as never, PREFIX)).toThrow('source must be 1-256 characters of letters, digits and "_.:/-", got undefined');
    expect(() => checkInvalidationMapping({ source: 's', paths: ['/a'] } as never, PREFIX)).toThrow('detailType must be 1-256 characters of letters, digits and "_.:/-", got undefined');
  });
});

describe('expanding event values', () => {
  it('refuses an empty field, so a purge never widens to "/p/" or a key prefix', () => {
    expect(() => expandTemplate('/p/{detail.id}', { detail: { id: '' } }, encodePathValue)).toThrow(
      new UnprocessableEventError('template "/p/{detail.id}": detail.id is an empty string in the event'),
    );
    expect(() => expandTemplate('/p/{detail.ids}', { detail: { ids: ['1', ''] } }, encodePathValue)).toThrow(/detail\.ids is an empty string in the event/);
  });

  it.each([
    ['through null', { detail: null }, '{detail.id}', 'detail.id is missing'],
    ['through a null field', { detail: { a: null } }, '{detail.a.b}', 'detail.a.b is missing'],
    ['through a string', { detail: { a: 'text' } }, '{detail.a.length}', 'detail.a.length is missing'],
    ['through an array', { detail: { a: [{ b: 1 }] } }, '{detail.a.b}', 'detail.a.b is missing'],
    ['a null event', null, '{detail.id}', 'detail.id is missing'],
    ['a null value', { detail: { id: null } }, '{detail.id}', 'detail.id is not a string or number (null)'],
    ['a boolean', { detail: { id: true } }, '{detail.id}', 'detail.id is not a string or number (boolean)'],
    ['an infinite number', { detail: { id: Infinity } }, '{detail.id}', 'detail.id is not a string or number (number)'],
    ['NaN', { detail: { id: NaN } }, '{detail.id}', 'detail.id is not a string or number (number)'],
    ['a nested array', { detail: { id: [[1]] } }, '{detail.id}', 'detail.id is not a string or number (object)'],
  ])('looking up a field %s dead-letters the event instead of throwing a TypeError', (_label, event, template, reason) => {
    expect(() => expandTemplate(template, event, encodePathValue)).toThrow(new UnprocessableEventError(`template ${JSON.stringify(template)}: ${reason} in the event`));
  });

  it('reads numbers, including 0 and negative ones, as their decimal text', () => {
    expect(expandTemplate('{detail.a}/{detail.b}/{detail.c}', { detail: { a: 0, b: -1.5, c: 'x' } }, encodePathValue)).toEqual(['0/-1.5/x']);
  });

  it('passes each value through the encoder, after the placeholder is read', () => {
    expect(expandTemplate('/a/{detail.v}/b', { detail: { v: ['x', 'y'] } }, (v) => `<${v}>`)).toEqual(['/a/<x>/b', '/a/<y>/b']);
  });

  it('1000 expansions pass, 1001 do not', () => {
    const event = { detail: { a: Array.from({ length: 40 }, (_, i) => i), b: Array.from({ length: 25 }, (_, i) => i), c: Array.from({ length: 1001 }, (_, i) => i) } };
    expect(expandTemplate('/{detail.a}/{detail.b}', event, encodePathValue)).toHaveLength(MAX_EXPANSIONS_PER_TEMPLATE);
    expect(MAX_EXPANSIONS_PER_TEMPLATE).toBe(1000);
    expect(() => expandTemplate('/{detail.c}', event, encodePathValue)).toThrow(
      new UnprocessableEventError('template "/{detail.c}" expands to more than 1000 values for this event'),
    );
    expect(expandTemplate('/{detail.c}', { detail: { c: event.detail.c.slice(1) } }, encodePathValue)).toHaveLength(1000);
  });

  it('encodes a path value byte by byte, escaping what would leave the segment', () => {
    expect(encodePathValue(' !~\x7f\x00')).toBe('%20!~%7F%00');
    expect(encodePathValue('/?#%*"<>{}|\\^[]`')).toBe('%2F%3F%23%25%2A%22%3C%3E%7B%7D%7C%5C%5E%5B%5D%60');
    expect(encodePathValue('€')).toBe('%E2%82%AC');
    expect(encodePathValue('\n')).toBe('%0A');
    expect(encodePathValue('Az09-._')).toBe('Az09-._');
  });
});

describe('expanding keys with every builder', () => {
  const event = { detail: { id: '42', ids: ['1', '2'], name: 'flags', category: 'books', page: '3', pages: ['1', '2'] } };
  const mapping = (keys: readonly (KeyTemplate | string)[]) => checkInvalidationMapping({ source: 's', detailType: 'D', keys }, PREFIX);

  it('resource keys are spelled through CacheKeys.resource, as Resource.key spells them', () => {
    const spec = mapping([
      KeyTemplate.resource('user', ['{detail.id}']),
      KeyTemplate.resource('order', ['o-{detail.ids}']),
      KeyTemplate.resource('config', []),
      KeyTemplate.resource('product-list', ['{detail.category}', '{detail.pages}']),
    ]);
    expect(expandKeys(spec, event, new CacheKeys())).toEqual({
      keys: ['app:v1:user:42', 'app:v1:order:o-1', 'app:v1:order:o-2', 'app:v1:config', 'app:v1:product-list:books:1', 'app:v1:product-list:books:2'],
      patterns: [],
      tags: [],
    });
    expect(expandKeys(spec, event, new CacheKeys({ clusterMode: true })).keys).toEqual([
      'app:v1:{user:42}',
      'app:v1:{order:o-1}',
      'app:v1:{order:o-2}',
      'app:v1:{config}',
      'app:v1:{product-list:books:1}',
      'app:v1:{product-list:books:2}',
    ]);
    const keys = new CacheKeys();
    expect(expandKeys(mapping([KeyTemplate.resource('user', ['{detail.id}'])]), event, keys).keys).toEqual([user.key(keys, { id: 42 })]);
    expect(expandKeys(mapping([KeyTemplate.resource('product-list', ['{detail.category}', '{detail.page}'])]), event, keys).keys).toEqual([productList.key(keys, { category: 'books', page: 3 })]);
  });

  it('full key and pattern templates expand with checked values', () => {
    const spec = mapping(['app:v1:product:{detail.ids}', KeyTemplate.pattern('app:v1:{product:{detail.id}}*'), KeyTemplate.resourcePattern(user)]);
    expect(expandKeys(spec, event, new CacheKeys())).toEqual({
      keys: ['app:v1:product:1', 'app:v1:product:2'],
      patterns: ['app:v1:{product:42}*', 'app:v1:user:*'],
      tags: [],
    });
  });

  it.each([
    ['a key value of 65 characters', { id: 'a'.repeat(65) }, 'app:v1:product:{detail.id}', `key template value "${'a'.repeat(65)}" must be 1-64 letters, digits, "_", "." or "-"`],
    ['a pattern value with a glob', { id: 'a*' }, KeyTemplate.pattern('app:v1:product:{detail.id}'), 'key template value "a*" must be 1-64 letters'],
    ['a key value with a leading colon', { id: ':a' }, 'app:v1:product:{detail.id}', 'key template value ":a" must be 1-64'],
    ['a key value with a trailing colon', { id: 'a:' }, 'app:v1:product:{detail.id}', 'key template value "a:" must be 1-64'],
  ])('refuses %s', (_label, detail, template, message) => {
    expect(() => expandKeys(mapping([template]), { detail }, new CacheKeys())).toThrow(UnprocessableEventError);
    expect(() => expandKeys(mapping([template]), { detail }, new CacheKeys())).toThrow(message);
  });

  it('a key value of 64 letters, digits, "_", "." and "-" passes', () => {
    const id = 'aZ09_.-'.padEnd(64, 'x');
    expect(expandKeys(mapping(['app:v1:product:{detail.id}']), { detail: { id } }, new CacheKeys()).keys).toEqual([`app:v1:product:${id}`]);
  });

  it('a resource key value of 65 characters dead-letters the event', () => {
    expect(() => expandKeys(mapping([KeyTemplate.resource('product', ['{detail.id}'])]), { detail: { id: 'a'.repeat(64) + 'b' } }, new CacheKeys())).toThrow(
      new UnprocessableEventError(`key template value "${'a'.repeat(64)}b" must be 1-64 letters, digits, "_", "." or "-"`),
    );
  });

  it('1000 keys from one builder pass, 1001 do not', () => {
    const spec = mapping([KeyTemplate.resource('product-list', ['{detail.a}', '{detail.b}'])]);
    const a = Array.from({ length: 40 }, (_, i) => `c${i}`);
    expect(expandKeys(spec, { detail: { a, b: Array.from({ length: 25 }, (_, i) => i) } }, new CacheKeys()).keys).toHaveLength(1000);
    expect(() => expandKeys(spec, { detail: { a: [...a, 'c40'], b: Array.from({ length: 25 }, (_, i) => i) } }, new CacheKeys())).toThrow(
      new UnprocessableEventError('key template resource(product-list, {detail.a}, {detail.b}) expands to more than 1000 keys'),
    );
  });

  it('an empty array fans out to no key', () => {
    expect(expandKeys(mapping([KeyTemplate.resource('product', ['{detail.none}'])]), { detail: { none: [] } }, new CacheKeys())).toEqual({ keys: [], patterns: [], tags: [] });
  });
});

describe('mappings derived from resource declarations', () => {
  const keys = new CacheKeys();
  const clusterKeys = new CacheKeys({ clusterMode: true });

  it("a resource entry purges the resource's own key and CDN path, whatever its spelling", () => {
    const spec = checkInvalidationMapping({ source: 'shop', detailType: 'ProductUpdated', resources: [{ resource: product, params: { id: '{detail.ids}' } }] }, PREFIX);
    expect(spec.keys).toEqual([{ builder: 'resource', args: ['product', '{detail.ids}'] }]);
    expect(spec.paths).toEqual(['/api/products/{detail.ids}']);
    const event = { detail: { ids: [7, 8] } };
    expect(expandKeys(spec, event, keys).keys).toEqual([product.key(keys, { id: 7 }), product.key(keys, { id: 8 })]);
    expect(expandKeys(spec, event, clusterKeys).keys).toEqual([product.key(clusterKeys, { id: 7 }), product.key(clusterKeys, { id: 8 })]);
    expect(expandPaths(spec, event)).toEqual([...product.cdnPaths({ id: 7 }), ...product.cdnPaths({ id: 8 })]);
  });

  it('key parts follow the declaration: path parameters in path order, then query parameters by name', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'D', resources: [{ resource: review, params: { reviewId: '{detail.r}', id: '{detail.p}' } }] }, PREFIX);
    const event = { detail: { p: 3, r: 9 } };
    expect(expandKeys(spec, event, keys).keys).toEqual([review.key(keys, { id: 3, reviewId: 9 })]);
    expect(expandPaths(spec, event)).toEqual(['/api/products/3/reviews/9']);
  });

  it('a query parameter with a default also purges the URL without it, the canonical one when the value is the default', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'D', resources: [{ resource: productList, params: { category: '{detail.c}', page: '{detail.p}' } }] }, PREFIX);
    expect(spec.paths).toEqual(['/api/products?category={detail.c}&page={detail.p}', '/api/products?category={detail.c}']);
    for (const page of [1, 4]) {
      const event = { detail: { c: 'garden', p: page } };
      expect(expandKeys(spec, event, keys).keys).toEqual([productList.key(keys, productList.match('/api/products', productList.canonicalUrl({ category: 'garden', page }).split('?')[1])!)]);
      expect(expandPaths(spec, event)).toEqual(expect.arrayContaining([...productList.cdnPaths({ category: 'garden', page })]));
    }
  });

  it('a per-subject resource purges its key only: it is never on the CDN', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'UserUpdated', resources: [{ resource: user, params: { id: '{detail.id}' } }] }, PREFIX);
    expect(spec.paths).toEqual([]);
    expect(expandKeys(spec, { detail: { id: 5 } }, keys).keys).toEqual([user.key(keys, { id: 5 })]);
  });

  it('a tag template may be a placeholder alone, and params may be left out of a resource without parameters', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'D', tags: ['{detail.tag}'], resources: [{ resource: config } as never] }, PREFIX);
    expect(expandKeys(spec, { detail: { tag: 'all' } }, keys)).toEqual({ keys: [config.key(keys, {})], patterns: [], tags: ['all'] });
  });

  it.each([
    ['a null resource', { resource: null, params: {} }, 'resources[0].resource must be a declared resource'],
    ['a resource whose name is no string', { resource: { ...product, name: 1 }, params: {} }, 'resources[0].resource must be a declared resource'],
    ['null params', { resource: product, params: null }, 'resources[0].params must be an object of templates, got null'],
    ['a null entry', null, 'resources[0].resource must be a declared resource'],
  ])('refuses %s', (_label, entry, message) => {
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'D', resources: [entry as never] }, PREFIX)).toThrow(TemplateError);
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'D', resources: [entry as never] }, PREFIX)).toThrow(message);
  });

  it('a resource without parameters purges its one key', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'ConfigChanged', resources: [{ resource: config, params: {} }] }, PREFIX);
    expect(expandKeys(spec, {}, keys).keys).toEqual([config.key(keys, {})]);
    expect(expandPaths(spec, {})).toEqual(['/api/config']);
  });

  it('tags expand with the same placeholder rules and reach the Redis purge as tags', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'D', tags: ['product:{detail.ids}', 'category:{detail.c}', 'all'] }, PREFIX);
    expect(spec.tags).toEqual(['product:{detail.ids}', 'category:{detail.c}', 'all']);
    expect(expandKeys(spec, { detail: { ids: [1, 2], c: 'garden' } }, keys)).toEqual({ keys: [], patterns: [], tags: ['product:1', 'product:2', 'category:garden', 'all'] });
  });

  it.each([
    ['a value with a colon', 'p:{detail.v}', { v: 'a:b' }, 'key template value "a:b" must be 1-64 letters'],
    ['a tag over 128 characters', `${'t'.repeat(64)}:{detail.v}`, { v: 'v'.repeat(64) }, 'must match'],
    ['a missing value', 'p:{detail.v}', {}, 'detail.v is missing in the event'],
  ])('a tag template dead-letters an event with %s', (_label, template, detail, message) => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'D', tags: [template] }, PREFIX);
    expect(() => expandKeys(spec, { detail }, keys)).toThrow(UnprocessableEventError);
    expect(() => expandKeys(spec, { detail }, keys)).toThrow(message);
  });

  it('a tag of exactly 128 characters passes', () => {
    const spec = checkInvalidationMapping({ source: 's', detailType: 'D', tags: [`${'t'.repeat(63)}:{detail.v}`] }, PREFIX);
    expect(expandKeys(spec, { detail: { v: 'v'.repeat(64) } }, keys).tags).toEqual([`${'t'.repeat(63)}:${'v'.repeat(64)}`]);
  });

  it('the checked spec survives the trip through the rule input: checking it again changes nothing', () => {
    const spec = checkInvalidationMapping(
      { source: 's', detailType: 'D', resources: [{ resource: productList, params: { category: '{detail.c}', page: '1' } }], tags: ['category:{detail.c}'], reason: 'r' },
      PREFIX,
    );
    expect(checkInvalidationMapping(JSON.parse(JSON.stringify(spec)), PREFIX)).toEqual(spec);
    const old = { source: 's', detailType: 'D', keys: [{ key: 'app:v1:x' }], paths: [], reason: 'r' };
    expect(checkInvalidationMapping(old, PREFIX).tags).toEqual([]);
    expect(expandKeys(old as never, {}, keys)).toEqual({ keys: ['app:v1:x'], patterns: [], tags: [] });
  });

  it('refuses a resource with more than three defaulted query parameters, suggesting tags', () => {
    const query = Object.fromEntries(['a', 'b', 'c', 'd'].map((name) => [name, { kind: ParamKind.PAGE, default: 1 }]));
    const wide = defineResource({ name: 'wide', path: '/api/wide', query, sharing: Sharing.PUBLIC, ttl: 60 });
    const params = { a: '1', b: '1', c: '1', d: '{detail.d}' };
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'D', resources: [{ resource: wide, params }] }, PREFIX)).toThrow(
      new TemplateError('resources[0].resource', "wide has 4 query parameters with defaults, whose URLs with and without each are 16 paths per event; at most 3 are supported: tag the values and list the tag in the mapping's tags"),
    );
    const three = defineResource({ name: 'three', path: '/api/three', query: { a: query.a, b: query.b, c: query.c }, sharing: Sharing.PUBLIC, ttl: 60 });
    expect(checkInvalidationMapping({ source: 's', detailType: 'D', resources: [{ resource: three, params: { a: '{detail.a}', b: '{detail.b}', c: '{detail.c}' } }] }, PREFIX).paths).toHaveLength(8);
  });

  it('a resource path template is checked like any path', () => {
    const long = defineResource({ name: 'long', path: `/${'a'.repeat(3998)}/{id}`, sharing: Sharing.PUBLIC, ttl: 60 });
    expect(() => checkInvalidationMapping({ source: 's', detailType: 'D', resources: [{ resource: long, params: { id: '{detail.id}' } }] }, PREFIX)).toThrow(
      /^resources\[0\] path 1 is not a valid CloudFront path/,
    );
  });

  it('resourcePattern scans every key of one resource, hash-tag aware, and refuses a resource without parameters', () => {
    expect(keys.resourcePattern('product')).toBe('app:v1:product:*');
    expect(clusterKeys.resourcePattern('product')).toBe('app:v1:{product:*');
    expect(() => keys.resourcePattern('a:b')).toThrow(RangeError);
    expect(() => KeyTemplate.resourcePattern(config)).toThrow(new TemplateError('resourcePattern', 'of resource config, which has no parameters: purge its one key with KeyTemplate.resource("config", [])'));
    expect(KeyTemplate.resourcePattern(productList).spec).toEqual({ builder: 'resourcePattern', args: ['product-list'] });
  });
});
