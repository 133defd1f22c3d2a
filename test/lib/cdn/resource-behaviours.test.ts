import { defineResource, ParamKind, Sharing } from '../../../lambda/runtime';
import { deriveResourceBehaviours, patternCatchesResourcePath } from '../../../lib/cdn/resource-behaviours';

describe('patternCatchesResourcePath', () => {
  it.each([
    ['/api/products/*', '/api/products/{id}', true],
    ['/api/*/latest', '/api/me/{id}', true],
    ['/api/*', '/api/users/{id}/profile', true],
    ['/api/products', '/api/products/{id}', false],
    ['/api/products/*', '/api/users/{id}', false],
    ['/api/users/*/avatar', '/api/users/{id}', false],
    ['/api/a*b', '/api/{x}', true],
    ['/api/a*b', '/api/c{x}', false],
  ])('%s against %s is %s', (pattern, path, expected) => {
    expect(patternCatchesResourcePath(pattern, path)).toBe(expected);
  });
});

describe('deriveResourceBehaviours', () => {
  it('merges resources of one pattern and sharing, with the union of their query parameters, in a stable order', () => {
    const byId = defineResource({ name: 'by-id', path: '/api/items/{id}', sharing: Sharing.PUBLIC, ttl: 60, query: { lang: { kind: ParamKind.SLUG } } });
    const bySlug = defineResource({ name: 'by-slug', path: '/api/items/{slug}', params: { slug: ParamKind.SLUG }, sharing: Sharing.PUBLIC, ttl: 60, query: { page: { kind: ParamKind.PAGE } } });
    const deep = defineResource({ name: 'deep', path: '/api/items/{id}/parts', sharing: Sharing.PUBLIC, ttl: 60 });
    const forward = deriveResourceBehaviours([byId, bySlug, deep]);
    expect(forward).toEqual([
      { pathPattern: '/api/items/*/parts', sharing: Sharing.PUBLIC, queryNames: [], resourceNames: ['deep'] },
      { pathPattern: '/api/items/*', sharing: Sharing.PUBLIC, queryNames: ['lang', 'page'], resourceNames: ['by-id', 'by-slug'] },
    ]);
    expect(deriveResourceBehaviours([deep, bySlug, byId]).map((b) => b.pathPattern)).toEqual(forward.map((b) => b.pathPattern));
  });

  it('keeps no query allow list on a per-subject behaviour, which is never cached', () => {
    const mine = defineResource({ name: 'mine', path: '/api/me/{id}', sharing: Sharing.PER_SUBJECT, subjectParam: 'id', ttl: 60, query: { page: { kind: ParamKind.PAGE } } });
    expect(deriveResourceBehaviours([mine])).toEqual([{ pathPattern: '/api/me/*', sharing: Sharing.PER_SUBJECT, queryNames: [], resourceNames: ['mine'] }]);
  });

  it('rejects a resource declared twice', () => {
    const one = defineResource({ name: 'one', path: '/api/one', sharing: Sharing.PUBLIC, ttl: 60 });
    expect(() => deriveResourceBehaviours([one, one])).toThrow('`resources` declares the resource one twice');
  });

  it('rejects resources of one pattern that together exceed the 10 query parameters of a cache policy', () => {
    const query = (names: string[]): Record<string, { kind: ParamKind }> => Object.fromEntries(names.map((n) => [n, { kind: ParamKind.SLUG }]));
    const a = defineResource({ name: 'a', path: '/api/x/{id}', sharing: Sharing.PUBLIC, ttl: 60, query: query(['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) });
    const b = defineResource({ name: 'b', path: '/api/x/{slug}', params: { slug: ParamKind.SLUG }, sharing: Sharing.PUBLIC, ttl: 60, query: query(['b1', 'b2', 'b3', 'b4', 'b5']) });
    expect(() => deriveResourceBehaviours([a, b])).toThrow(/the resources a, b share the path pattern \/api\/x\/\* and together declare 11 query parameters; a cache policy allows at most 10/);
  });
});
