import { ValidationError } from '../../../../lambda/runtime/errors';
import { EVENT_LIMITS } from '../../../../lambda/runtime/invalidation/limits';
import { splitInvalidation } from '../../../../lambda/runtime/invalidation/split';

const range = (n: number, make: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => make(i));
const BIG = 1024 * 1024;

describe('splitInvalidation', () => {
  it('keeps a small request in one detail, with its reason and purgeAll, and no empty lists', () => {
    expect(splitInvalidation({ keys: ['app:v1:a'], paths: ['/*'], reason: 'r', purgeAll: { reason: 'reset' } }, BIG)).toEqual([
      { keys: ['app:v1:a'], paths: ['/*'], reason: 'r', purgeAll: { reason: 'reset' } },
    ]);
    expect(splitInvalidation({ tags: ['t'] }, BIG)).toStrictEqual([{ tags: ['t'] }]);
  });

  it('gives every detail the request\'s upToVersion, like its reason', () => {
    const keys = range(12_000, (i) => `app:v1:k:${i}`);
    const details = splitInvalidation({ keys, upToVersion: 42, reason: 'r' }, 10 * BIG);
    expect(details.length).toBeGreaterThan(1);
    expect(details.every((detail) => detail.upToVersion === 42 && detail.reason === 'r')).toBe(true);
    expect('upToVersion' in splitInvalidation({ keys: ['app:v1:a'] }, BIG)[0]).toBe(false);
  });

  it('splits by the purgers count limits even when the bytes would fit', () => {
    const tags = range(1_500, (i) => `t:${i}`);
    const keys = range(12_000, (i) => `app:v1:k:${i}`);
    const paths = range(10_500, (i) => `/p/${i}`);
    const details = splitInvalidation({ tags, keys, paths }, 10 * BIG);
    for (const d of details) {
      expect(d.keys?.length ?? 0).toBeLessThanOrEqual(EVENT_LIMITS.keys);
      expect(d.paths?.length ?? 0).toBeLessThanOrEqual(EVENT_LIMITS.paths);
      expect(d.tags?.length ?? 0).toBeLessThanOrEqual(EVENT_LIMITS.tags);
    }
    expect(details.flatMap((d) => d.keys ?? [])).toEqual(keys);
    expect(details.flatMap((d) => d.paths ?? [])).toEqual(paths);
    expect(details.flatMap((d) => d.tags ?? [])).toEqual(tags);
    expect(details.map((d) => [d.keys?.length, d.paths?.length, d.tags?.length])).toEqual([
      [10_000, undefined, undefined],
      [2_000, 10_000, undefined],
      [undefined, 500, 1_000],
      [undefined, undefined, 500],
    ]);
  });

  it('honours given limits and fills each detail exactly up to them', () => {
    const details = splitInvalidation({ keyPatterns: ['a', 'b', 'c'] }, BIG, { keys: 1, keyPatterns: 2, paths: 1, tags: 1 });
    expect(details).toEqual([{ keyPatterns: ['a', 'b'] }, { keyPatterns: ['c'] }]);
  });

  it('splits by bytes: each detail fits, exactly at the limit', () => {
    // Each item adds its JSON (6 bytes) and a comma.
    const base = JSON.stringify({ keys: [], keyPatterns: [], paths: [], tags: [] }).length;
    const details = splitInvalidation({ keys: ['aaaa', 'bbbb', 'cccc'] }, base + 14);
    expect(details).toEqual([{ keys: ['aaaa', 'bbbb'] }, { keys: ['cccc'] }]);
    for (const d of details) expect(Buffer.byteLength(JSON.stringify({ keyPatterns: [], paths: [], tags: [], ...d }))).toBeLessThanOrEqual(base + 14);
    expect(splitInvalidation({ keys: ['aaaa', 'bbbb', 'cccc'] }, base + 13)).toHaveLength(3);
  });

  it('counts multi-byte characters and the reason in the size', () => {
    const base = JSON.stringify({ keys: [], keyPatterns: [], paths: [], tags: [], reason: 'é' }).length + 1;
    expect(splitInvalidation({ keys: ['é', 'é'], reason: 'é' }, base + 10)).toHaveLength(1);
    expect(splitInvalidation({ keys: ['é', 'é'], reason: 'é' }, base + 9)).toHaveLength(2);
  });

  // Buffer.byteLength(…, '') is UTF-8 as well: the mutants replacing 'utf8' with "" are equivalent.
  it('refuses one entry too large for any event, naming its list', () => {
    const attempt = () => splitInvalidation({ paths: ['/' + 'x'.repeat(100)] }, 120);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(/one entry is 104 bytes, too large for an event/);
    const base = JSON.stringify({ keys: [], keyPatterns: [], paths: [], tags: [] }).length;
    expect(splitInvalidation({ paths: ['/' + 'x'.repeat(100)] }, base + 104)).toEqual([{ paths: ['/' + 'x'.repeat(100)] }]);
  });
});
