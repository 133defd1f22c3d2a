import { UnprocessableEventError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import {
  KeyTemplate,
  MAX_EXPANSIONS_PER_TEMPLATE,
  checkInvalidationMapping,
  encodePathValue,
  expandKeys,
  expandPaths,
  expandTemplate,
} from '../../../../lambda/runtime/invalidation/templates';

const PREFIX = 'app:v1:';

describe('checkInvalidationMapping (synth time)', () => {
  it('accepts typed key templates, full key templates and path templates', () => {
    const spec = checkInvalidationMapping(
      {
        source: 'shop.catalog',
        detailType: 'ProductUpdated',
        keys: [KeyTemplate.product('{detail.id}'), KeyTemplate.productLists('{detail.id}'), 'app:v1:{product:{detail.id}}:extra', KeyTemplate.entityPattern('products:list')],
        paths: ['/api/products/{detail.id}', '/api/products*'],
      },
      PREFIX,
    );
    expect(spec.keys).toEqual([
      { builder: 'product', args: ['{detail.id}'] },
      { builder: 'productListsTag', args: ['{detail.id}'] },
      { key: 'app:v1:{product:{detail.id}}:extra' },
      { builder: 'entityPattern', args: ['products:list'] },
    ]);
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
    ['a builder argument with a colon', { keys: [KeyTemplate.product('a:{detail.id}')] }, 'keys[0] argument 1 may hold only letters'],
    ['an unknown pattern entity', { keys: [KeyTemplate.entityPattern('widgets' as never)] }, 'keys[0] names entity "widgets"'],
    ['nothing to invalidate', {}, 'keys and paths are both empty'],
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
        keys: [KeyTemplate.product('{detail.ids}'), KeyTemplate.productLists('{detail.id}'), KeyTemplate.productList('{detail.nested.category}', '1'), KeyTemplate.entityPattern('product')],
        paths: ['/api/products/{detail.id}'],
      },
      PREFIX,
    );
    expect(expandKeys(mapping, event, new CacheKeys())).toEqual({
      keys: ['app:v1:product:1', 'app:v1:product:2', 'app:v1:tag:product-lists.42', 'app:v1:products:list:books:p1'],
      patterns: ['app:v1:product:*'],
    });
    expect(expandKeys(mapping, event, new CacheKeys({ clusterMode: true }))).toEqual({
      keys: ['app:v1:{product:1}', 'app:v1:{product:2}', 'app:v1:{tag:product-lists.42}', 'app:v1:{products:list:books:p1}'],
      patterns: ['app:v1:{product:*'],
    });
    expect(expandPaths(mapping, event)).toEqual(['/api/products/42']);
  });

  it('refuses a key value that would change the key structure', () => {
    const mapping = checkInvalidationMapping({ source: 's', detailType: 'D', keys: ['app:v1:product:{detail.sku}', KeyTemplate.order('{detail.sku}')] }, PREFIX);
    expect(() => expandKeys(mapping, event, new CacheKeys())).toThrow(/key template value "a\/b\*c d" must be 1-64 letters/);
    const orderOnly = checkInvalidationMapping({ source: 's', detailType: 'D', keys: [KeyTemplate.productList('x', '{detail.sku}')] }, PREFIX);
    expect(() => expandKeys(orderOnly, event, new CacheKeys())).toThrow(UnprocessableEventError);
  });
});
