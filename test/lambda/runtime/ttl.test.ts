import { DEFAULT_TTL_SECONDS, defineTtlClasses, MAX_L1_TTL_SECONDS, MAX_TTL_SECONDS, TTL_RULE, TtlClass, parseTtlTable, ttlClass, ttlSecondsOf, withJitter } from '../../../lambda/runtime/ttl';

describe('the TTL table', () => {
  test('holds the seed defaults, in seconds, under the class names CACHE_TTLS uses', () => {
    expect(DEFAULT_TTL_SECONDS).toEqual({ user_profile: 3600, product_list: 300, product: 3600, config: 86400, analytics: 60, order: 3600, not_found: 30 });
    expect(Object.values(TtlClass).sort()).toEqual(['analytics', 'config', 'not_found', 'order', 'product', 'product_list', 'user_profile']);
  });

  test('the L1 layer holds a value one minute at most', () => {
    expect(MAX_L1_TTL_SECONDS).toBe(60);
  });
});

describe('parseTtlTable (CACHE_TTLS)', () => {
  test('without an override, the defaults (or the given base) are the table', () => {
    expect(parseTtlTable(undefined)).toBe(DEFAULT_TTL_SECONDS);
    expect(parseTtlTable('')).toBe(DEFAULT_TTL_SECONDS);
    const base = { ...DEFAULT_TTL_SECONDS, product: 5 };
    expect(parseTtlTable(undefined, base)).toBe(base);
  });

  test('an override of one class keeps the other six defaults', () => {
    expect(parseTtlTable('{"product":600}')).toEqual({ ...DEFAULT_TTL_SECONDS, product: 600 });
    expect(parseTtlTable('{}')).toEqual(DEFAULT_TTL_SECONDS);
    expect(parseTtlTable('{"config":7}', { ...DEFAULT_TTL_SECONDS, order: 9 })).toEqual({ ...DEFAULT_TTL_SECONDS, order: 9, config: 7 });
  });

  test('every class may be overridden, from 1 s to 30 days', () => {
    const all = Object.fromEntries(Object.values(TtlClass).map((name, i) => [name, i + 1]));
    expect(parseTtlTable(JSON.stringify(all))).toEqual(all);
    expect(parseTtlTable('{"analytics":2592000}').analytics).toBe(2_592_000);
    expect(parseTtlTable('{"analytics":1}').analytics).toBe(1);
  });

  test('refuses text that is not JSON, with the parser reason', () => {
    expect(() => parseTtlTable('{product:600}')).toThrow(/^CACHE_TTLS must be a JSON object, got "\{product:600\}": .*JSON/);
  });

  test.each(['600', 'null', '[]', '[600]', '"product"', 'true'])('refuses the JSON %s, which is not an object', (json) => {
    expect(() => parseTtlTable(json)).toThrow(new Error(`CACHE_TTLS must be a JSON object, got ${JSON.stringify(json)}`));
  });

  test('refuses an unknown class, listing the known ones', () => {
    expect(() => parseTtlTable('{"product":600,"products":600}')).toThrow(
      new Error('CACHE_TTLS has unknown class "products"; known: user_profile, product_list, product, config, analytics, order, not_found (declare your own with ttlClass() or defineTtlClasses())'),
    );
  });

  test.each([0, -5, 1.5, 2_592_001, '600', null, true])('refuses %p seconds, naming the class and the range', (seconds) => {
    expect(() => parseTtlTable(JSON.stringify({ order: seconds }))).toThrow(
      new Error(`CACHE_TTLS.order must be an integer between 1 and 2592000 seconds, got ${JSON.stringify(seconds)}`),
    );
  });
});

describe('withJitter', () => {
  test('spreads by ±10 % by default, across the whole window', () => {
    expect(withJitter(100, undefined, () => 0)).toBe(90);
    expect(withJitter(100, undefined, () => 0.25)).toBe(95);
    expect(withJitter(100, undefined, () => 0.5)).toBe(100);
    expect(withJitter(100, undefined, () => 0.999_999)).toBe(110);
  });

  test('honours another fraction and rounds to whole seconds', () => {
    expect(withJitter(3600, 0.5, () => 0)).toBe(1800);
    expect(withJitter(3600, 0.5, () => 0.75)).toBe(4500);
    expect(withJitter(10, 0.1, () => 0.2)).toBe(9);
    expect(withJitter(10, 0, () => 0.9)).toBe(10);
  });

  test('never gives less than one second', () => {
    expect(withJitter(1, 0.9, () => 0)).toBe(1);
    expect(withJitter(2, 0.9, () => 0)).toBe(1);
  });

  test('uses Math.random when no source is given, staying in the window', () => {
    const samples = Array.from({ length: 200 }, () => withJitter(1000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1100);
    expect(new Set(samples).size).toBeGreaterThan(1);
  });
});

describe('ttlSecondsOf', () => {
  const table = { ...DEFAULT_TTL_SECONDS, product: 600 };

  test('reads a class from the table in force, and takes a number of seconds as it is', () => {
    expect(ttlSecondsOf(table, TtlClass.PRODUCT)).toBe(600);
    expect(ttlSecondsOf(table, TtlClass.CONFIG)).toBe(86_400);
    expect(ttlSecondsOf(table, 1)).toBe(1);
    expect(ttlSecondsOf(table, 2_592_000)).toBe(2_592_000);
    expect(MAX_TTL_SECONDS).toBe(2_592_000);
  });

  test.each([0, -1, 1.5, 2_592_001, NaN])('refuses %p seconds, with the range', (ttl) => {
    expect(() => ttlSecondsOf(table, ttl)).toThrow(new RangeError(`ttl must be ${TTL_RULE}, got ${ttl}`));
  });

  test("reads a declared class from the table, or its default when no override names it", () => {
    const recipe = ttlClass('recipe', 600);
    expect(ttlSecondsOf(table, recipe)).toBe(600);
    expect(ttlSecondsOf({ ...table, recipe: 42 }, recipe)).toBe(42);
  });

  test.each(['3600', 'recipe', { name: 'recipe' }])('refuses %p, which is no TTL', (ttl) => {
    expect(() => ttlSecondsOf(table, ttl as never)).toThrow(new RangeError(`ttl must be ${TTL_RULE}, got ${JSON.stringify(ttl)}`));
  });
});

describe("an app's own TTL classes", () => {
  test('ttlClass and defineTtlClasses make classes with a name and default seconds', () => {
    expect(ttlClass('recipe', 600)).toEqual({ name: 'recipe', defaultSeconds: 600 });
    expect(defineTtlClasses({ recipe: 600, recipe_list: 120 })).toEqual({ recipe: { name: 'recipe', defaultSeconds: 600 }, recipe_list: { name: 'recipe_list', defaultSeconds: 120 } });
  });

  test.each([
    ['a name with a capital', () => ttlClass('Recipe', 600), 'ttlClass: `name` must be 1 to 32 of a-z 0-9 _ starting with a letter, got "Recipe"'],
    ['a name with a hyphen', () => defineTtlClasses({ 'recipe-list': 60 }), 'ttlClass: `name` must be 1 to 32 of a-z 0-9 _ starting with a letter, got "recipe-list"'],
    ['a built-in name', () => ttlClass('product', 600), 'ttlClass: `name` "product" is a built-in class; use TtlClass.PRODUCT (overridable the same way) or another name'],
    ['seconds as text', () => ttlClass('recipe', '600' as never), 'ttlClass recipe: `defaultSeconds` must be an integer between 1 and 2592000, got "600"'],
    ['0 seconds', () => defineTtlClasses({ recipe: 0 }), 'ttlClass recipe: `defaultSeconds` must be an integer between 1 and 2592000, got 0'],
    ['not an object', () => defineTtlClasses(null as never), 'defineTtlClasses: the argument must be an object of class name to default seconds, got null'],
  ])('refuses %s', (_label, make, message) => {
    expect(make).toThrow(new RangeError(message));
  });

  test('CACHE_TTLS may override a declared class; the table holds its default otherwise', () => {
    const classes = Object.values(defineTtlClasses({ recipe: 600 }));
    expect(parseTtlTable(undefined, undefined, classes)).toEqual({ ...DEFAULT_TTL_SECONDS, recipe: 600 });
    expect(parseTtlTable('{"recipe":60,"product":5}', undefined, classes)).toEqual({ ...DEFAULT_TTL_SECONDS, product: 5, recipe: 60 });
    expect(() => parseTtlTable('{"recipes":60}', undefined, classes)).toThrow(
      new Error('CACHE_TTLS has unknown class "recipes"; known: user_profile, product_list, product, config, analytics, order, not_found, recipe'),
    );
  });

  test('refuses one class declared twice with different seconds', () => {
    expect(() => parseTtlTable(undefined, undefined, [ttlClass('recipe', 600), ttlClass('recipe', 60)])).toThrow(new RangeError('ttlClasses: recipe is declared twice, with 600 and 60 seconds'));
  });
});
