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
      KeyTemplate.product('{detail.id}'),
      KeyTemplate.productList('{detail.c}', '{detail.p}'),
      KeyTemplate.productLists('{detail.id}'),
      KeyTemplate.userSummary('{detail.id}'),
      KeyTemplate.userProfile('{detail.id}'),
      KeyTemplate.order('{detail.id}'),
      KeyTemplate.config('{detail.name}'),
      KeyTemplate.entityPattern('order'),
      KeyTemplate.entityPattern('config'),
      KeyTemplate.key('app:v1:x:{detail.id}'),
      KeyTemplate.pattern('app:v1:x:*'),
    ];
    expect(all.map((t) => t.spec)).toEqual([
      { builder: 'product', args: ['{detail.id}'] },
      { builder: 'productList', args: ['{detail.c}', '{detail.p}'] },
      { builder: 'productListsTag', args: ['{detail.id}'] },
      { builder: 'userSummary', args: ['{detail.id}'] },
      { builder: 'userProfile', args: ['{detail.id}'] },
      { builder: 'order', args: ['{detail.id}'] },
      { builder: 'config', args: ['{detail.name}'] },
      { builder: 'entityPattern', args: ['order'] },
      { builder: 'entityPattern', args: ['config'] },
      { key: 'app:v1:x:{detail.id}' },
      { pattern: 'app:v1:x:*' },
    ]);
    for (const template of all) expect(checkKeyTemplate('keys[0]', template, PREFIX)).toBe(template.spec);
  });

  it('accepts a key template given as its JSON spec, and a builder argument of literal text', () => {
    expect(checkKeyTemplate('keys[0]', { builder: KeyBuilder.CONFIG, args: ['global'] }, PREFIX)).toEqual({ builder: 'config', args: ['global'] });
    expect(checkKeyTemplate('keys[0]', { builder: KeyBuilder.PRODUCT, args: ['p-{detail.id}.v2'] }, PREFIX)).toEqual({ builder: 'product', args: ['p-{detail.id}.v2'] });
    expect(checkKeyTemplate('keys[0]', { pattern: 'app:v1:x:{detail.id}:*' }, PREFIX)).toEqual({ pattern: 'app:v1:x:{detail.id}:*' });
    expect(checkKeyTemplate('keys[0]', 'app:v1:{product:{detail.id}}', PREFIX)).toEqual({ key: 'app:v1:{product:{detail.id}}' });
  });

  it.each([
    ['null', null, 'must be a KeyTemplate or a full key template string'],
    ['undefined', undefined, 'must be a KeyTemplate or a full key template string'],
    ['a builder with one number argument among strings', { builder: 'product', args: ['1', 2] }, 'must be a KeyTemplate or a full key template string'],
    ['an unknown entity', KeyTemplate.entityPattern('widget' as never), 'names entity "widget"; entityPattern knows product, user, order, config, products:list'],
    ['a bad placeholder in a second argument', KeyTemplate.productList('a', '{foo}'), 'argument 2 has placeholder {foo}: placeholders must be'],
    ['a bad placeholder in a first argument', KeyTemplate.product('{foo}'), 'argument 1 has placeholder {foo}: placeholders must be'],
    ['a number', 42, 'must be a KeyTemplate or a full key template string'],
    ['an object without key, pattern or builder', { other: 'x' }, 'must be a KeyTemplate or a full key template string'],
    ['a builder without args', { builder: 'product' }, 'must be a KeyTemplate or a full key template string'],
    ['a builder with a number argument', { builder: 'product', args: [1] }, 'must be a KeyTemplate or a full key template string'],
    ['a key that is no string', { key: 1 }, 'must be a KeyTemplate or a full key template string'],
    ['an unknown builder', { builder: 'widget', args: ['1'] }, 'names unknown builder "widget"'],
    ['an empty builder argument', { builder: 'product', args: [''] }, 'argument 1 must not be empty'],
    ['a second argument with a space', { builder: 'productList', args: ['a', 'b c'] }, 'argument 2 may hold only letters, digits, "_", "." and "-" around placeholders, got "b c"'],
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
    expect(checkInvalidationMapping({ ...base, reason: 'r' }, PREFIX)).toEqual({ source: 'shop.catalog', detailType: 'ProductUpdated', keys: [], paths: ['/a'], reason: 'r' });
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

  it('user, profile, order and config builders spell their keys through CacheKeys', () => {
    const spec = mapping([
      KeyTemplate.userSummary('{detail.id}'),
      KeyTemplate.userProfile('{detail.ids}'),
      KeyTemplate.order('o-{detail.id}'),
      KeyTemplate.config('{detail.name}'),
      KeyTemplate.productList('{detail.category}', '{detail.pages}'),
    ]);
    expect(expandKeys(spec, event, new CacheKeys())).toEqual({
      keys: [
        'app:v1:user:42:summary',
        'app:v1:user:1:profile',
        'app:v1:user:2:profile',
        'app:v1:order:o-42',
        'app:v1:config:flags',
        'app:v1:products:list:books:p1',
        'app:v1:products:list:books:p2',
      ],
      patterns: [],
    });
    expect(expandKeys(spec, event, new CacheKeys({ clusterMode: true })).keys).toEqual([
      'app:v1:{user:42}:summary',
      'app:v1:{user:1}:profile',
      'app:v1:{user:2}:profile',
      'app:v1:{order:o-42}',
      'app:v1:{config:flags}',
      'app:v1:{products:list:books:p1}',
      'app:v1:{products:list:books:p2}',
    ]);
  });

  it('full key and pattern templates expand with checked values', () => {
    const spec = mapping(['app:v1:product:{detail.ids}', KeyTemplate.pattern('app:v1:{product:{detail.id}}*'), KeyTemplate.entityPattern('user')]);
    expect(expandKeys(spec, event, new CacheKeys())).toEqual({
      keys: ['app:v1:product:1', 'app:v1:product:2'],
      patterns: ['app:v1:{product:42}*', 'app:v1:user:*'],
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

  it.each([
    ['-1', 'page must be a non-negative integer, got "-1"'],
    ['1.5', 'page must be a non-negative integer, got "1.5"'],
    ['1e400', 'page must be a non-negative integer, got "1e400"'],
    ['9007199254740992', 'page must be a non-negative integer, got "9007199254740992"'],
  ])('refuses page %s of a product list key, naming the builder', (page, reason) => {
    expect(() => expandKeys(mapping([KeyTemplate.productList('all', '{detail.page}')]), { detail: { page } }, new CacheKeys())).toThrow(
      new UnprocessableEventError(`key template productList(all, ${page}): ${reason}`),
    );
  });

  it('accepts page 0, the lowest non-negative page', () => {
    expect(expandKeys(mapping([KeyTemplate.productList('all', '{detail.page}')]), { detail: { page: 0 } }, new CacheKeys()).keys).toEqual(['app:v1:products:list:all:p0']);
  });

  it('a builder refusing its argument dead-letters the event with the builder named', () => {
    expect(() => expandKeys(mapping([KeyTemplate.product('{detail.id}')]), { detail: { id: 'a'.repeat(64) + 'b' } }, new CacheKeys())).toThrow(UnprocessableEventError);
    const unknown = { source: 's', detailType: 'D', keys: [{ builder: 'widget' as KeyBuilder, args: ['1'] }], paths: [], reason: 'r' };
    expect(() => expandKeys(unknown, { detail: {} }, new CacheKeys())).toThrow(new UnprocessableEventError('key template widget(1): unknown key builder "widget"'));
  });

  it('1000 keys from one builder pass, 1001 do not', () => {
    const spec = mapping([KeyTemplate.productList('{detail.a}', '{detail.b}')]);
    const a = Array.from({ length: 40 }, (_, i) => `c${i}`);
    expect(expandKeys(spec, { detail: { a, b: Array.from({ length: 25 }, (_, i) => i) } }, new CacheKeys()).keys).toHaveLength(1000);
    expect(() => expandKeys(spec, { detail: { a: [...a, 'c40'], b: Array.from({ length: 25 }, (_, i) => i) } }, new CacheKeys())).toThrow(
      new UnprocessableEventError('key template productList({detail.a}, {detail.b}) expands to more than 1000 keys'),
    );
  });

  it('an empty array fans out to no key', () => {
    expect(expandKeys(mapping([KeyTemplate.product('{detail.none}')]), { detail: { none: [] } }, new CacheKeys())).toEqual({ keys: [], patterns: [] });
  });
});
