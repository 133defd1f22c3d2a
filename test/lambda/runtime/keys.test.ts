import { CACHE_TAG_PATTERN, CacheKeys } from '../../../lambda/runtime/keys';

const plain = new CacheKeys();
const cluster = new CacheKeys({ clusterMode: true });

describe('CacheKeys options', () => {
  test('defaults to namespace app, schema version 1, no hash tags', () => {
    expect(plain.namespace).toBe('app');
    expect(plain.schemaVersion).toBe(1);
    expect(plain.clusterMode).toBe(false);
    expect(plain.prefix).toBe('app:v1:');
    expect(cluster.clusterMode).toBe(true);
  });

  test('the prefix is built from the namespace and schema version', () => {
    expect(new CacheKeys({ namespace: 'shop', schemaVersion: 7 }).prefix).toBe('shop:v7:');
    expect(new CacheKeys({ namespace: 'shop', schemaVersion: 7 }).product(1)).toBe('shop:v7:product:1');
  });

  test.each([0, -1, 1.5, NaN])('refuses schemaVersion %p, naming it', (schemaVersion) => {
    expect(() => new CacheKeys({ schemaVersion })).toThrow(new RangeError(`cache key schemaVersion must be a positive integer, got ${schemaVersion}`));
  });

  test('refuses a namespace that is not one key segment', () => {
    expect(() => new CacheKeys({ namespace: 'a:b' })).toThrow(new RangeError('cache key namespace must match /^[A-Za-z0-9_.-]{1,64}$/, got "a:b"'));
    expect(() => new CacheKeys({ namespace: '' })).toThrow(RangeError);
  });
});

describe('key segments (checked without any server)', () => {
  test('accept letters, digits, "_", "." and "-", from 1 to 64 characters', () => {
    expect(plain.product('Az09_.-')).toBe('app:v1:product:Az09_.-');
    expect(plain.product('x')).toBe('app:v1:product:x');
    expect(plain.product('9'.repeat(64))).toBe(`app:v1:product:${'9'.repeat(64)}`);
    expect(plain.product(42)).toBe('app:v1:product:42');
  });

  test.each([
    ['empty', ''],
    ['65 characters', 'a'.repeat(65)],
    ['a colon (it would add a key level)', '1:2'],
    ['a leading colon', ':1'],
    ['a trailing colon', '1:'],
    ['a brace (it would open a hash tag)', '{1}'],
    ['a glob character', '1*'],
    ['a space', '1 2'],
    ['a slash', 'a/b'],
    ['a non-ASCII letter', 'é'],
    ['a newline after a valid segment', '1\n'],
  ])('refuse %s, naming the segment and the value', (_label, id) => {
    expect(() => plain.product(id)).toThrow(new RangeError(`cache key id must match /^[A-Za-z0-9_.-]{1,64}$/, got ${JSON.stringify(id)}`));
  });
});

describe('resource keys', () => {
  test('join the resource name and its parts; the whole identity is the hash tag in cluster mode', () => {
    expect(plain.resource('product', ['42'])).toBe('app:v1:product:42');
    expect(plain.resource('product-list', ['garden', '2'])).toBe('app:v1:product-list:garden:2');
    expect(cluster.resource('product-list', ['garden', '_'])).toBe('app:v1:{product-list:garden:_}');
    expect(plain.resource('config', [])).toBe('app:v1:config');
  });

  test('refuse a bad name or part, naming which', () => {
    expect(() => plain.resource('a:b', [])).toThrow(new RangeError('cache key resource must match /^[A-Za-z0-9_.-]{1,64}$/, got "a:b"'));
    expect(() => plain.resource('product', ['1', 'x y'])).toThrow(new RangeError('cache key key part must match /^[A-Za-z0-9_.-]{1,64}$/, got "x y"'));
  });
});

describe('tag sets', () => {
  test('live under tag:, hash-tagged as a whole in cluster mode', () => {
    expect(plain.tagSet('category:garden')).toBe('app:v1:tag:category:garden');
    expect(cluster.tagSet('category:garden')).toBe('app:v1:{tag:category:garden}');
  });

  test('accept letters, digits and "_.:-", from 1 to 128 characters', () => {
    expect(plain.tagSet('Az09_.:-')).toBe('app:v1:tag:Az09_.:-');
    expect(plain.tagSet('t')).toBe('app:v1:tag:t');
    expect(plain.tagSet('t'.repeat(128))).toBe(`app:v1:tag:${'t'.repeat(128)}`);
  });

  test.each(['', 't'.repeat(129), 'a b', ' a', 'a ', '{a}', 'a*', 'é'])('refuse tag %j', (tag) => {
    expect(() => plain.tagSet(tag)).toThrow(new RangeError(`cache tag must match /^[A-Za-z0-9_.:-]{1,128}$/, got ${JSON.stringify(tag)}`));
  });

  test('a tag mark shares the slot of its tag set in cluster mode; the clock is one key per app', () => {
    expect(plain.tagMark('category:garden')).toBe('app:v1:tag-mark:category:garden');
    expect(cluster.tagMark('category:garden')).toBe('app:v1:{tag:category:garden}:mark');
    expect(() => plain.tagMark('a b')).toThrow(RangeError);
    expect(plain.tagClock()).toBe('app:v1:tag-clock');
    expect(cluster.tagClock()).toBe('app:v1:{tag-clock}');
    expect(CACHE_TAG_PATTERN.test('category:garden')).toBe(true);
  });

  test('isTag tells a tag set from its mark and the clock', () => {
    expect(cluster.isTag(cluster.tagMark('x'))).toBe(false);
    expect(plain.isTag(plain.tagMark('x'))).toBe(false);
    expect(plain.isTag(plain.tagClock())).toBe(false);
    expect(cluster.isTag(cluster.tagClock())).toBe(false);
    expect(plain.isTag('app:v1:tag:x}')).toBe(true);
    expect(plain.isTag('app:v1:tag:x:mark')).toBe(true);
  });

  test('tagOf reads a tag set key back to its tag, and nothing else', () => {
    expect(plain.tagOf(plain.tagSet('category:garden'))).toBe('category:garden');
    expect(cluster.tagOf(cluster.tagSet('category:garden'))).toBe('category:garden');
    expect(plain.tagOf(plain.tagMark('x'))).toBeUndefined();
    expect(cluster.tagOf(cluster.tagMark('x'))).toBeUndefined();
    expect(plain.tagOf('app:v1:product:1')).toBeUndefined();
    expect(plain.tagOf('app:v1:tag:a b')).toBeUndefined();
    expect(plain.tagOf('app:v1:tag:')).toBeUndefined();
    expect(cluster.tagOf('app:v1:{tag:}')).toBeUndefined();
  });

  test('isTag recognises tag sets of this application only', () => {
    expect(plain.isTag(plain.tagSet('x'))).toBe(true);
    expect(cluster.isTag(cluster.tagSet('x'))).toBe(true);
    expect(plain.isTag(cluster.tagSet('x'))).toBe(false);
    expect(cluster.isTag(plain.tagSet('x'))).toBe(false);
    expect(plain.isTag('app:v1:product:1')).toBe(false);
    expect(plain.isTag('other:v1:tag:x')).toBe(false);
    expect(plain.isTag('app:v1:tags')).toBe(false);
  });
});

describe('entity keys', () => {
  test("the shop's profile facets and product keys, in both modes", () => {
    expect(plain.userProfile('42')).toBe('app:v1:user:42:profile');
    expect(plain.profileVersion(42)).toBe('app:v1:user:42:profile-version');
    expect(cluster.userProfile(42)).toBe('app:v1:{user:42}:profile');
    expect(cluster.profileVersion(42)).toBe('app:v1:{user:42}:profile-version');
    expect(cluster.product(1)).toBe('app:v1:{product:1}');
    expect(plain.product(1)).toBe(plain.resource('product', ['1']));
    expect(cluster.product(1)).toBe(cluster.resource('product', ['1']));
    expect(() => plain.product('1:2')).toThrow(new RangeError('cache key id must match /^[A-Za-z0-9_.-]{1,64}$/, got "1:2"'));
  });

  test('a lock shares the slot of its key', () => {
    expect(cluster.lock(cluster.product(1))).toBe('app:v1:{product:1}:lock');
    expect(plain.lock('app:v1:product:1')).toBe('app:v1:product:1:lock');
  });

  test('a resource pattern matches every key of one resource, with the opening brace of its hash tag in cluster mode', () => {
    expect(plain.resourcePattern('product')).toBe('app:v1:product:*');
    expect(cluster.resourcePattern('product-list')).toBe('app:v1:{product-list:*');
    expect(() => plain.resourcePattern('a:b')).toThrow(new RangeError('cache key resource must match /^[A-Za-z0-9_.-]{1,64}$/, got "a:b"'));
  });

  test('owns tells this application and schema version from others', () => {
    expect(plain.owns('app:v1:product:1')).toBe(true);
    expect(plain.owns('app:v2:product:1')).toBe(false);
    expect(plain.owns('other:v1:product:1')).toBe(false);
    expect(plain.owns('xapp:v1:product:1')).toBe(false);
  });
});

