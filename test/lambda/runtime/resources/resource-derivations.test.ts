/**
 * The derivations of a resource declaration that the resource API relies on: path shape, lenient
 * parse with its canonical verdict, key, canonical URL and CDN paths.
 */
import { CacheKeys, defineResource, ParamKind, Sharing, TtlClass, ValidationError } from 'cache-pyramid/runtime';

const list = defineResource<{ items: number[] }>({
  name: 'product-list',
  path: '/api/products',
  query: { category: { kind: ParamKind.SLUG }, page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
});

const review = defineResource<{ id: number }>({
  name: 'review',
  path: '/api/products/{productId}/reviews/{id}',
  sharing: Sharing.PUBLIC,
  ttl: 60,
});

const summary = defineResource<{ id: number }>({
  name: 'user-summary',
  path: '/api/users/{id}',
  sharing: Sharing.PER_SUBJECT,
  subjectParam: 'id',
  ttl: TtlClass.USER_PROFILE,
});

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  return undefined;
}

describe('path shape', () => {
  test('matchesPath accepts any value in a parameter segment and nothing else', () => {
    expect(review.matchesPath('/api/products/7/reviews/3')).toBe(true);
    expect(review.matchesPath('/api/products/abc/reviews/x')).toBe(true);
    expect(review.matchesPath('/api/products/7/reviews')).toBe(false);
    expect(review.matchesPath('/api/products/7/comments/3')).toBe(false);
    expect(review.matchesPath('/api/products/7/reviews/3/')).toBe(false);
  });

  test('route key and CloudFront pattern come from the path template', () => {
    expect(review.routeKey).toBe('GET /api/products/{productId}/reviews/{id}');
    expect(review.pathPattern).toBe('/api/products/*/reviews/*');
    expect(list.queryNames).toEqual(['category', 'page']);
  });
});

describe('parse', () => {
  test.each([
    ['', { category: undefined, page: 1 }, true],
    ['page=2', { category: undefined, page: 2 }, true],
    ['category=books&page=2', { category: 'books', page: 2 }, true],
    ['page=2&category=books', { category: 'books', page: 2 }, false],
    ['page=1', { category: undefined, page: 1 }, false],
    ['page=%31', { category: undefined, page: 1 }, false],
    ['%63ategory=books', { category: 'books', page: 1 }, false],
  ])('?%s parses to %j, canonical: %s', (query, params, canonical) => {
    expect(list.parse('/api/products', query as string)).toEqual({ params, canonical });
  });

  test.each([
    ['page=0', 'page'],
    ['page=01', 'page'],
    ['page=%3', 'page'],
    ['category=Books', 'category'],
    ['category=', 'category'],
    ['page=1&page=1', 'page'],
    ['sort=asc', 'sort'],
    ['&page=2', 'query'],
  ])('?%s is a ValidationError naming %s', (query, field) => {
    expect(fieldOf(() => list.parse('/api/products', query))).toBe(field);
  });

  test('path parameters are strict: no leading zero, no escape', () => {
    expect(fieldOf(() => review.parse('/api/products/007/reviews/1', ''))).toBe('productId');
    expect(fieldOf(() => review.parse('/api/products/%37/reviews/1', ''))).toBe('productId');
    expect(review.parse('/api/products/7/reviews/1', '')).toEqual({ params: { productId: 7, id: 1 }, canonical: true });
  });

  test('match refuses what parse calls non-canonical, with a 400 on the query', () => {
    expect(fieldOf(() => list.match('/api/products', 'page=1'))).toBe('query');
    expect(list.match('/api/products', 'page=3')).toEqual({ category: undefined, page: 3 });
    expect(list.match('/api/other', '')).toBeUndefined();
  });
});

describe('key, canonical URL and CDN paths', () => {
  const keys = new CacheKeys({ namespace: 'app' });
  const clusterKeys = new CacheKeys({ namespace: 'app', clusterMode: true });

  test('the key holds path then query parameters, `_` for an absent one, hash-tagged in cluster mode', () => {
    expect(list.key(keys, { category: undefined, page: 1 })).toBe('app:v1:product-list:_:1');
    expect(list.key(keys, { category: 'books', page: 2 })).toBe('app:v1:product-list:books:2');
    expect(review.key(clusterKeys, { productId: 7, id: 3 })).toBe('app:v1:{review:7:3}');
  });

  test('the canonical URL omits defaults and sorts parameters; a public answer is purged under it', () => {
    expect(list.canonicalUrl({ category: undefined, page: 1 })).toBe('/api/products');
    expect(list.canonicalUrl({ category: 'books', page: 2 })).toBe('/api/products?category=books&page=2');
    expect(list.cdnPaths({ category: 'books', page: 1 })).toEqual(['/api/products?category=books']);
  });

  test('a per-subject answer has no CDN path: no shared cache ever holds it', () => {
    expect(summary.cdnPaths({ id: 3 })).toEqual([]);
    expect(summary.canonicalUrl({ id: 3 })).toBe('/api/users/3');
  });
});
