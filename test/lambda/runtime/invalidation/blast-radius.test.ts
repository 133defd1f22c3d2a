import { UnprocessableEventError, ValidationError } from '../../../../lambda/runtime/errors';
import { globMatches, globsIntersect, internalKindOf, isPurgeableScanMatch, parseGlob } from '../../../../lambda/runtime/invalidation/blast-radius';
import { decodeInvalidationMessage, pathsOf, redisWorkOf } from '../../../../lambda/runtime/invalidation/messages';
import { checkInvalidationRequest } from '../../../../lambda/runtime/invalidation/publisher';
import { CacheKeys, InternalKeyKind } from '../../../../lambda/runtime/keys';

const standalone = new CacheKeys();
const cluster = new CacheKeys({ clusterMode: true });

function event(detail: unknown): string {
  return JSON.stringify({ id: 'ev-1', source: 'cache-pyramid', 'detail-type': 'CacheInvalidation', detail });
}

function refusal(detail: unknown, keys = standalone): string {
  try {
    const message = decodeInvalidationMessage(event(detail), keys.prefix);
    pathsOf(message);
    redisWorkOf(message, keys);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableEventError);
    return (error as UnprocessableEventError).reason;
  }
  throw new Error('expected the event to be refused');
}

describe('Redis globs', () => {
  it.each([
    ['app:v1:*', 'app:v1:tag-clock', true],
    ['app:v1:p?', 'app:v1:pq', true],
    ['app:v1:p?', 'app:v1:p', false],
    ['app:v1:[a-c]x', 'app:v1:bx', true],
    ['app:v1:[c-a]x', 'app:v1:bx', true],
    ['app:v1:[^a-c]x', 'app:v1:bx', false],
    ['app:v1:[^a-c]x', 'app:v1:dx', true],
    ['app:v1:[\\]]', 'app:v1:]', true],
    ['app:v1:\\*', 'app:v1:*', true],
    ['app:v1:\\*', 'app:v1:x', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['a**', 'a', true],
    ['[]', 'a', false],
    ['a-', 'a-', true],
    ['[a-]', '-', true],
    ['[ac-eb]', 'b', true],
    ['[a-cc-e]', 'd', true],
    ['[a-ce-g]', 'd', false],
    ['[^b]', 'a', true],
    ['[^b]', 'c', true],
    ['[^b]', '\uffff', true],
    ['[^a-c]', 'a', false],
    ['x[\\-]', 'x-', true],
    ['x[\\-]', 'x\\', false],
    ['[^]x', 'ax', true],
    ['*a*', 'bab', true],
    ['?*b', 'ab', true],
    ['a*', 'b', false],
  ])('%s matches %s: %s', (pattern, key, expected) => {
    expect(globMatches(pattern, key)).toBe(expected);
  });

  it('refuses patterns Redis would read otherwise', () => {
    expect(() => parseGlob('app:v1:[ab')).toThrow(/"\[" at 7 that is never closed/);
    expect(() => parseGlob('app:v1:\\')).toThrow(/ends in an unescaped/);
  });

  it.each([
    ['app:v1:*', 'app:v1:tag:*', true],
    ['app:v1:t*', 'app:v1:tag:*', true],
    ['app:v1:product:*', 'app:v1:tag:*', false],
    ['*:x', 'app:v1:tag:*', true],
    ['app:v1:?ag:x', 'app:v1:tag:*', true],
    ['app:v1:[^t]ag:x', 'app:v1:tag:*', false],
    ['app:v1:tag-clock', 'app:v1:tag-clock', true],
    ['app:v1:tag-clocks', 'app:v1:tag-clock', false],
    ['app:v1:[]*', 'app:v1:*', false],
    ['a*', '*[]', false],
  ])('%s and %s intersect: %s', (a, b, expected) => {
    expect(globsIntersect(parseGlob(a), parseGlob(b))).toBe(expected);
    expect(globsIntersect(parseGlob(b), parseGlob(a))).toBe(expected);
  });
});

describe('internal keys', () => {
  it.each([standalone, cluster])('classifies every key builder output (cluster %#)', (keys) => {
    expect(internalKindOf(keys.tagSet('product:1'), keys)).toBe(InternalKeyKind.TAG_SET);
    expect(internalKindOf(keys.tagMark('product:1'), keys)).toBe(InternalKeyKind.TAG_MARK);
    expect(internalKindOf(keys.tagClock(), keys)).toBe(InternalKeyKind.TAG_CLOCK);
    expect(internalKindOf(keys.lock(keys.product(1)), keys)).toBe(InternalKeyKind.LOCK);
    expect(internalKindOf(keys.profileVersion(7), keys)).toBe(InternalKeyKind.VERSION_CLOCK);
    expect(internalKindOf(keys.product(1), keys)).toBeUndefined();
    expect(internalKindOf(keys.userProfile(7), keys)).toBeUndefined();
    expect(internalKindOf(keys.resource('product-list', ['garden', '2']), keys)).toBeUndefined();
    expect(isPurgeableScanMatch(keys.product(1), keys)).toBe(true);
    expect(isPurgeableScanMatch(keys.lock(keys.product(1)), keys)).toBe(true);
    expect(isPurgeableScanMatch(keys.tagSet('a'), keys)).toBe(false);
    expect(isPurgeableScanMatch(keys.tagClock(), keys)).toBe(false);
  });
});

describe('guarded blast radius of CacheInvalidation events', () => {
  it.each([standalone, cluster])('refuses exact internal keys, whatever purgeAll says (cluster %#)', (keys) => {
    expect(refusal({ keys: [keys.tagClock()] }, keys)).toBe(`keys[0] ${JSON.stringify(keys.tagClock())} is the runtime's tag clock, not a cached value; an invalidation may not remove it`);
    expect(refusal({ keys: [keys.product(1), keys.tagSet('product:1')], purgeAll: { reason: 'x' } }, keys)).toMatch(/^keys\[1\] .* is the runtime's tag set/);
    expect(refusal({ keys: [keys.tagMark('a')] }, keys)).toMatch(/tag mark/);
    expect(refusal({ keys: [keys.lock(keys.product(1))] }, keys)).toMatch(/coalescing lock/);
    expect(refusal({ keys: [keys.profileVersion(1)] }, keys)).toMatch(/write-behind version clock/);
  });

  it.each([standalone, cluster])('refuses patterns that can match internal keys unless purgeAll acknowledges them (cluster %#)', (keys) => {
    expect(refusal({ keyPatterns: ['app:v1:*'] }, keys)).toMatch(/^keyPatterns\[0\] "app:v1:\*" can match the runtime's tag set keys .*detail\.purgeAll: \{ reason \}/);
    expect(refusal({ keyPatterns: [keys.resourcePattern('product'), 'app:v1:*tag-clock*'] }, keys)).toMatch(/^keyPatterns\[1\] .* can match the runtime's tag/);
    expect(refusal({ keyPatterns: ['app:v1:[ab'] }, keys)).toMatch(/is not a valid pattern: it has a "\[" at 7 that is never closed/);
    expect(refusal({ keyPatterns: ['app:v1:*:lock'], purgeAll: { reason: 'x' } }, keys)).toMatch(/names coalescing locks/);
    const work = redisWorkOf(decodeInvalidationMessage(event({ keyPatterns: ['app:v1:*'], purgeAll: { reason: 'schema reset' } }), keys.prefix), keys);
    expect(work.scans.map((s) => s.pattern)).toEqual(['app:v1:*']);
    expect(work.purgeAll).toEqual({ reason: 'schema reset' });
    expect(redisWorkOf(decodeInvalidationMessage(event({ keyPatterns: [keys.resourcePattern('product')] }), keys.prefix), keys).purgeAll).toBeUndefined();
  });

  it('refuses the path /* without purgeAll, and a malformed purgeAll', () => {
    expect(refusal({ paths: ['/api/*', '/*'] })).toBe('detail.paths[1] "/*" purges the whole distribution; acknowledge it with detail.purgeAll: { reason }');
    expect(pathsOf(decodeInvalidationMessage(event({ paths: ['/*'], purgeAll: { reason: 'rebrand' } }), standalone.prefix))).toEqual(['/*']);
    for (const purgeAll of [true, {}, { reason: ' ' }, { reason: 'x'.repeat(1025) }]) {
      expect(refusal({ paths: ['/*'], purgeAll })).toMatch(/^purgeAll must be \{ reason \} with a non-empty reason of at most 1024 characters$/);
    }
  });

  it('refuses /* in a CDN forward or continuation unless it carries purgeAll', () => {
    const forward = { kind: 'cache-pyramid.cdn-purge', version: 1, paths: ['/*'], origin: {}, redisPurgedAt: 1 };
    expect(() => decodeInvalidationMessage(JSON.stringify(forward), 'app:v1:')).toThrow(/paths\[0\] "\/\*" purges the whole distribution/);
    const decoded = decodeInvalidationMessage(JSON.stringify({ ...forward, purgeAll: { reason: 'r' } }), 'app:v1:');
    expect(decoded).toMatchObject({ kind: 'cdn', forward: { paths: ['/*'], purgeAll: { reason: 'r' } } });
    const continuation = { kind: 'cache-pyramid.redis-purge-continuation', version: 1, hop: 1, origin: {}, scans: [{ pattern: 'app:v1:*', cursors: {}, finished: [] }], paths: ['/*'] };
    expect(() => decodeInvalidationMessage(JSON.stringify(continuation), 'app:v1:')).toThrow(/continuation paths\[0\] "\/\*"/);
    const resumed = decodeInvalidationMessage(JSON.stringify({ ...continuation, purgeAll: { reason: 'r' } }), 'app:v1:');
    expect(redisWorkOf(resumed, standalone)).toMatchObject({ hop: 1, purgeAll: { reason: 'r' }, paths: ['/*'] });
  });

  it.each([
    ['app:v1:*:loc?', false],
    ['app:v1:*:[lk]ock', false],
    ['app:v1:*:lock', true],
    ['app:v1:*\\:lock', true],
    ['app:v1:p:*lock', false],
  ])('a pattern ending in %s names locks: %s', (pattern, refused) => {
    const reason = (() => {
      try {
        redisWorkOf(decodeInvalidationMessage(event({ keyPatterns: [pattern], purgeAll: { reason: 'x' } }), standalone.prefix), standalone);
        return undefined;
      } catch (error) {
        return (error as UnprocessableEventError).reason;
      }
    })();
    expect(reason === undefined ? false : /names coalescing locks/.test(reason)).toBe(refused);
  });

  it('the publisher refuses the same before sending, naming the field', () => {
    expect(() => checkInvalidationRequest({ keys: [standalone.tagClock()] }, standalone)).toThrow(ValidationError);
    expect(() => checkInvalidationRequest({ keys: [standalone.tagClock()] }, standalone)).toThrow(/tag clock/);
    expect(() => checkInvalidationRequest({ keyPatterns: ['app:v1:*'] }, standalone)).toThrow(/can match the runtime's tag set/);
    expect(() => checkInvalidationRequest({ paths: ['/*'] })).toThrow(/purges the whole distribution/);
    expect(() => checkInvalidationRequest({ paths: ['/*'], purgeAll: { reason: '' } })).toThrow(/non-empty reason/);
    expect(() => checkInvalidationRequest({ paths: ['/*'], keyPatterns: ['app:v1:*'], purgeAll: { reason: 'reset' } }, standalone)).not.toThrow();
  });
});
