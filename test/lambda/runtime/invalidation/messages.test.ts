import { UnprocessableEventError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import {
  CACHE_INVALIDATION_DETAIL_TYPE,
  CDN_PURGE_KIND,
  DEFAULT_INVALIDATION_SOURCE,
  InvalidationMessage,
  MAPPED_INVALIDATION_KIND,
  MAX_MESSAGE_BYTES,
  MAX_PATHS_PER_EVENT,
  MAX_PATTERNS_PER_EVENT,
  MAX_TAGS_PER_EVENT,
  REDIS_PURGE_CONTINUATION_KIND,
  decodeInvalidationMessage,
  pathsOf,
  purgeAllOf,
  reasonOf as reasonOf2,
  redisWorkOf,
} from '../../../../lambda/runtime/invalidation/messages';
import { KeyTemplate, checkInvalidationMapping } from '../../../../lambda/runtime/invalidation/templates';
import { Sharing, defineResource } from '../../../../lambda/runtime/resources/resource';

const keys = new CacheKeys();
const product = defineResource({ name: 'product', path: '/api/products/{id}', sharing: Sharing.PUBLIC, ttl: 60 });

function event(detail: unknown, detailType = 'CacheInvalidation'): string {
  return JSON.stringify({ version: '0', id: 'ev-1', source: 'cache-pyramid', 'detail-type': detailType, account: '1', time: '2025-01-01T00:00:00Z', region: 'eu-west-1', resources: [], detail });
}

function reasonOf(body: string): string {
  try {
    const message = decodeInvalidationMessage(body, keys.prefix);
    pathsOf(message);
    redisWorkOf(message, keys);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableEventError);
    return (error as UnprocessableEventError).reason;
  }
  throw new Error('expected the message to be refused');
}

describe('decodeInvalidationMessage', () => {
  it('decodes a CacheInvalidation event', () => {
    const message = decodeInvalidationMessage(event({ keys: [keys.product(1)], keyPatterns: [keys.resourcePattern('product-list')], paths: ['/api/products/1'], reason: 'edit' }), keys.prefix);
    expect(pathsOf(message)).toEqual(['/api/products/1']);
    expect(redisWorkOf(message, keys)).toEqual({
      keys: ['app:v1:product:1'],
      tags: [],
      scans: [{ pattern: 'app:v1:product-list:*', cursors: {}, finished: [] }],
      hop: 0,
      origin: { eventId: 'ev-1', source: 'cache-pyramid', detailType: 'CacheInvalidation' },
      reason: 'edit',
      paths: ['/api/products/1'],
    });
  });

  it('decodes tags, alone or with the rest, without duplicates', () => {
    const message = decodeInvalidationMessage(event({ tags: ['category:garden', 'product:7', 'category:garden'] }), keys.prefix);
    expect(redisWorkOf(message, keys)).toMatchObject({ keys: [], tags: ['category:garden', 'product:7'], scans: [] });
    expect(reasonOf(event({ tags: ['has space'] }))).toMatch(/detail.tags\[0\] "has space" must match/);
    expect(reasonOf(event({ tags: 'category:garden' }))).toMatch(/detail.tags must be an array/);
    expect(reasonOf(event({ tags: [] }))).toMatch(/names nothing to invalidate/);
  });

  it('decodes the CDN purge the Redis purger forwards, and refuses it on the Redis queue', () => {
    const body = JSON.stringify({ kind: CDN_PURGE_KIND, version: 1, paths: ['/api/products/1', '/api/products?*'], reason: 'edit', origin: { eventId: 'ev-1' }, redisPurgedAt: 1_700_000_000_000 });
    const message = decodeInvalidationMessage(body, keys.prefix);
    expect(pathsOf(message)).toEqual(['/api/products/1', '/api/products?*']);
    expect(() => redisWorkOf(message, keys)).toThrow('a CDN purge message reached the Redis purge queue');
  });

  it('carries the CDN paths of an unfinished pattern purge in its continuation', () => {
    const body = JSON.stringify({ kind: REDIS_PURGE_CONTINUATION_KIND, version: 1, hop: 1, origin: {}, scans: [{ pattern: 'app:v1:x*', cursors: {}, finished: [] }], paths: ['/x'] });
    expect(redisWorkOf(decodeInvalidationMessage(body, keys.prefix), keys).paths).toEqual(['/x']);
  });

  it('decodes a mapped app event and expands its templates', () => {
    const mapping = checkInvalidationMapping(
      { source: 'shop.catalog', detailType: 'ProductUpdated', resources: [{ resource: product, params: { id: '{detail.id}' } }], tags: ['product:{detail.id}'], keys: [KeyTemplate.key('app:v1:extra:{detail.id}')] },
      keys.prefix,
    );
    const body = JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping, event: JSON.parse(event({ id: 7 }, 'ProductUpdated')) });
    const message = decodeInvalidationMessage(body, keys.prefix);
    expect(pathsOf(message)).toEqual(['/api/products/7']);
    expect(redisWorkOf(message, keys).keys).toEqual(['app:v1:extra:7', product.key(keys, { id: 7 })]);
    expect(redisWorkOf(message, keys).tags).toEqual(['product:7']);
    expect(redisWorkOf(message, keys).reason).toBe('ProductUpdated from shop.catalog');
  });

  it('dead-letters a mapped event whose tags expand beyond the per-event cap', () => {
    const mapping = checkInvalidationMapping({ source: 's', detailType: 'D', tags: ['a:{detail.ids}', 'b:{detail.ids}'] }, keys.prefix);
    const body = (n: number) => JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping, event: { detail: { ids: Array.from({ length: n }, (_, i) => i) } } });
    expect(redisWorkOf(decodeInvalidationMessage(body(500), keys.prefix), keys).tags).toHaveLength(1000);
    expect(() => redisWorkOf(decodeInvalidationMessage(body(501), keys.prefix), keys)).toThrow(new UnprocessableEventError("the mapping's tags expand to 1002 tags for this event; at most 1000"));
  });

  it('decodes a continuation with its cursors', () => {
    const body = JSON.stringify({
      kind: REDIS_PURGE_CONTINUATION_KIND,
      version: 1,
      hop: 2,
      origin: { eventId: 'ev-1' },
      scans: [{ pattern: 'app:v1:product:*', cursors: { '10.0.0.1:6379': '1234' }, finished: ['10.0.0.2:6379'] }],
    });
    const work = redisWorkOf(decodeInvalidationMessage(body, keys.prefix), keys);
    expect(work.hop).toBe(2);
    expect(work.scans).toEqual([{ pattern: 'app:v1:product:*', cursors: { '10.0.0.1:6379': '1234' }, finished: ['10.0.0.2:6379'] }]);
  });

  it.each([
    ['malformed JSON', '{"detail-type": ', /message body is not JSON/],
    ['a JSON array', '[]', /must be a JSON object/],
    ['an oversized body', event({ paths: ['/' + 'a'.repeat(MAX_MESSAGE_BYTES)] }), /message is \d+ bytes; at most 307200/],
    ['an unknown detail-type', event({ paths: ['/a'] }, 'OrderShipped'), /unknown event: detail-type "OrderShipped" is not CacheInvalidation/],
    ['an unknown envelope kind', JSON.stringify({ kind: 'something-else' }), /unknown message kind "something-else"/],
    ['no detail-type at all', JSON.stringify({ hello: 'world' }), /neither an EventBridge event/],
    ['a typo in the detail', event({ path: ['/a'] }), /unknown field\(s\) path; expected keys, keyPatterns, paths, tags, upToVersion, reason/],
    ['an empty detail', event({}), /names nothing to invalidate/],
    ['paths that are not an array', event({ paths: '/a' }), /detail.paths must be an array of strings/],
    ['an empty path string', event({ paths: [''] }), /detail.paths\[0\] must be a non-empty string/],
    ['too many keys', event({ keys: Array.from({ length: 10_001 }, (_, i) => keys.product(i)) }), /detail.keys has 10001 entries; at most 10000/],
    ['a key outside the namespace', event({ keys: ['other-app:v1:product:1'] }), /keys\[0\] "other-app:v1:product:1" is outside the app namespace "app:v1:"/],
    ['a pattern outside the namespace', event({ keyPatterns: ['*'] }), /keyPatterns\[0\] "\*" is outside the app namespace/],
    ['a mapped event missing a field', JSON.stringify({
      kind: MAPPED_INVALIDATION_KIND,
      version: 1,
      mapping: { source: 's', detailType: 'D', keys: [], paths: ['/p/{detail.id}'], reason: 'r' },
      event: { detail: {} },
    }), /template "\/p\/\{detail.id\}": detail.id is missing in the event/],
    ['a mapped event with a tampered mapping', JSON.stringify({
      kind: MAPPED_INVALIDATION_KIND,
      version: 1,
      mapping: { source: 's', detailType: 'D', keys: ['other:v1:x'], paths: [], reason: 'r' },
      event: { detail: {} },
    }), /invalid mapping: keys\[0\] must be within the app's key namespace/],
    ['a continuation with a bad cursor', JSON.stringify({ kind: REDIS_PURGE_CONTINUATION_KIND, version: 1, hop: 1, origin: {}, scans: [{ pattern: 'app:v1:x*', cursors: { n: 'abc' }, finished: [] }] }), /cursors must be decimal strings/],
    ['a CDN purge without paths', JSON.stringify({ kind: CDN_PURGE_KIND, version: 1, paths: [], redisPurgedAt: 1 }), /a CDN purge must name at least one path/],
    ['a CDN purge without its Redis purge time', JSON.stringify({ kind: CDN_PURGE_KIND, version: 1, paths: ['/a'] }), /redisPurgedAt must be a number/],
  ])('refuses %s with a reason', (_label, body, reason) => {
    expect(reasonOf(body)).toMatch(reason);
  });
});

/** The UnprocessableEventError reason of decoding `body` alone. */
function decodeRefusal(body: string): string {
  try {
    decodeInvalidationMessage(body, keys.prefix);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableEventError);
    return (error as UnprocessableEventError).reason;
  }
  throw new Error('expected the message to be refused');
}

const continuation = (fields: Record<string, unknown>) =>
  JSON.stringify({ kind: REDIS_PURGE_CONTINUATION_KIND, version: 1, hop: 1, origin: {}, scans: [{ pattern: 'app:v1:x*', cursors: {}, finished: [] }], ...fields });
const cdn = (fields: Record<string, unknown>) => JSON.stringify({ kind: CDN_PURGE_KIND, version: 1, paths: ['/a'], redisPurgedAt: 1, ...fields });
const mapped = (fields: Record<string, unknown>) =>
  JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping: checkInvalidationMapping({ source: 's', detailType: 'D', paths: ['/p/{detail.id}'] }, keys.prefix), event: { detail: { id: 1 } }, ...fields });

describe('the detail of a CacheInvalidation event', () => {
  it('names the type of a field that is not an array, and the index of a bad entry', () => {
    expect(decodeRefusal(event({ keys: 'app:v1:a' }))).toBe('detail.keys must be an array of strings, got string');
    expect(decodeRefusal(event({ keyPatterns: { a: 1 } }))).toBe('detail.keyPatterns must be an array of strings, got object');
    expect(decodeRefusal(event({ paths: ['/a', 7] }))).toBe('detail.paths[1] must be a non-empty string');
    expect(decodeRefusal(event({ keys: ['app:v1:a', ''] }))).toBe('detail.keys[1] must be a non-empty string');
  });

  it('caps the entries of each field and the length of each entry', () => {
    expect(decodeRefusal(event({ keyPatterns: Array.from({ length: MAX_PATTERNS_PER_EVENT + 1 }, (_, i) => `app:v1:p${i}:*`) }))).toBe(
      `detail.keyPatterns has ${MAX_PATTERNS_PER_EVENT + 1} entries; at most ${MAX_PATTERNS_PER_EVENT} per event`,
    );
    expect(decodeInvalidationMessage(event({ keyPatterns: Array.from({ length: MAX_PATTERNS_PER_EVENT }, (_, i) => `app:v1:p${i}:*`) }), keys.prefix).kind).toBe('event');
    expect(decodeRefusal(event({ paths: Array.from({ length: MAX_PATHS_PER_EVENT + 1 }, (_, i) => `/p${i}`) }))).toBe(
      `detail.paths has ${MAX_PATHS_PER_EVENT + 1} entries; at most ${MAX_PATHS_PER_EVENT} per event`,
    );
    expect(decodeRefusal(event({ tags: Array.from({ length: MAX_TAGS_PER_EVENT + 1 }, (_, i) => `t:${i}`) }))).toBe(
      `detail.tags has ${MAX_TAGS_PER_EVENT + 1} entries; at most ${MAX_TAGS_PER_EVENT} per event`,
    );
    const key = (n: number) => 'app:v1:' + 'k'.repeat(n - 'app:v1:'.length);
    expect(decodeInvalidationMessage(event({ keys: [key(1024)] }), keys.prefix).kind).toBe('event');
    expect(decodeRefusal(event({ keys: [key(1025)] }))).toBe('detail.keys[0] is 1025 characters; at most 1024');
    expect(decodeRefusal(event({ keyPatterns: ['app:v1:a*', key(1025)] }))).toBe('detail.keyPatterns[1] is 1025 characters; at most 1024');
    expect(decodeInvalidationMessage(event({ paths: ['/' + 'p'.repeat(8 * 1024 - 1)] }), keys.prefix).kind).toBe('event');
    expect(decodeRefusal(event({ paths: ['/' + 'p'.repeat(8 * 1024)] }))).toBe('detail.paths[0] is 8193 characters; at most 8192');
    expect(decodeInvalidationMessage(event({ tags: ['t'.repeat(128)] }), keys.prefix).kind).toBe('event');
    expect(decodeRefusal(event({ tags: ['t'.repeat(129)] }))).toBe('detail.tags[0] is 129 characters; at most 128');
  });

  it('names every unknown field and the expected ones', () => {
    expect(decodeRefusal(event({ paths: ['/a'], path: ['/b'], keyPattern: ['x'] }))).toBe(
      'detail has unknown field(s) path, keyPattern; expected keys, keyPatterns, paths, tags, upToVersion, reason, purgeAll',
    );
    expect(decodeRefusal(event('keys'))).toBe('detail must be an object');
    expect(decodeRefusal(event(null))).toBe('detail must be an object');
    expect(decodeRefusal(event([{ keys: ['app:v1:a'] }]))).toBe('detail must be an object');
  });

  it('takes upToVersion beside keys, as a finite number, and hands it to the Redis work', () => {
    const message = decodeInvalidationMessage(event({ keys: ['app:v1:a'], upToVersion: 1_796_591_880_474_017 }), keys.prefix);
    expect(message).toMatchObject({ kind: 'event', detail: { keys: ['app:v1:a'], upToVersion: 1_796_591_880_474_017 } });
    expect(redisWorkOf(message, keys).upToVersion).toBe(1_796_591_880_474_017);
    expect(redisWorkOf(decodeInvalidationMessage(event({ keys: ['app:v1:a'], upToVersion: 0 }), keys.prefix), keys).upToVersion).toBe(0);
    const plain = decodeInvalidationMessage(event({ keys: ['app:v1:a'] }), keys.prefix);
    expect('upToVersion' in (plain as { detail: object }).detail).toBe(false);
    expect('upToVersion' in redisWorkOf(plain, keys)).toBe(false);
    expect(decodeRefusal(event({ keys: ['app:v1:a'], upToVersion: '7' }))).toBe('detail.upToVersion must be a finite number, got "7"');
    expect(decodeRefusal(event({ keys: ['app:v1:a'], upToVersion: null }))).toBe('detail.upToVersion must be a finite number, got null');
    expect(decodeRefusal(event({ paths: ['/a'], upToVersion: 7 }))).toBe('detail.upToVersion applies to keys, and the detail names none');
  });

  it('checks each tag against the tag pattern, by index', () => {
    expect(decodeRefusal(event({ tags: ['category:garden', 'Bad Tag'] }))).toMatch(/^detail\.tags\[1\] "Bad Tag" must match \//);
  });

  it('takes a reason of at most 1024 characters', () => {
    const decoded = decodeInvalidationMessage(event({ paths: ['/a'], reason: 'r'.repeat(1024) }), keys.prefix);
    expect(decoded.kind === 'event' && decoded.detail.reason).toBe('r'.repeat(1024));
    expect(decodeRefusal(event({ paths: ['/a'], reason: 'r'.repeat(1025) }))).toBe('detail.reason must be a string of at most 1024 characters');
    expect(decodeRefusal(event({ paths: ['/a'], reason: 42 }))).toBe('detail.reason must be a string of at most 1024 characters');
  });

  it('keeps only the fields given: no tags or purgeAll property when there are none', () => {
    const decoded = decodeInvalidationMessage(event({ paths: ['/a'] }), keys.prefix);
    expect(decoded).toEqual({
      kind: 'event',
      origin: { eventId: 'ev-1', source: 'cache-pyramid', detailType: 'CacheInvalidation' },
      detail: { keys: [], keyPatterns: [], paths: ['/a'], reason: undefined },
    });
    expect(Object.keys(decoded.kind === 'event' ? decoded.detail : {})).toEqual(['keys', 'keyPatterns', 'paths', 'reason']);
  });

  it('leaves out an origin field that is not a string', () => {
    const body = JSON.stringify({ id: 7, source: ['x'], 'detail-type': 'CacheInvalidation', detail: { paths: ['/a'] } });
    const decoded = decodeInvalidationMessage(body, keys.prefix);
    expect(decoded.kind === 'event' && decoded.origin).toEqual({ eventId: undefined, source: undefined, detailType: 'CacheInvalidation' });
  });

  it('counts the size in UTF-8 bytes, up to MAX_MESSAGE_BYTES', () => {
    /** An event of exactly `bytes` bytes: paths of 4 000 'é' (8 000 bytes), then one of 'a' to fill up. */
    const sized = (bytes: number) => {
      const paths: string[] = [];
      const size = () => Buffer.byteLength(event({ paths: [...paths, '/'] }));
      while (size() + 8_000 <= bytes) paths.push('/' + 'é'.repeat(4_000));
      paths.push('/' + 'a'.repeat(bytes - size()));
      return event({ paths });
    };
    const largest = sized(MAX_MESSAGE_BYTES);
    expect(Buffer.byteLength(largest)).toBe(MAX_MESSAGE_BYTES);
    expect(decodeInvalidationMessage(largest, keys.prefix).kind).toBe('event');
    const over = sized(MAX_MESSAGE_BYTES + 2);
    expect(Buffer.byteLength(over)).toBe(MAX_MESSAGE_BYTES + 2);
    // Fewer characters than the limit, more bytes: refused.
    expect(over.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(decodeRefusal(over)).toBe(`message is ${MAX_MESSAGE_BYTES + 2} bytes; at most ${MAX_MESSAGE_BYTES}`);
  });

  it('accepts any one kind of target, or any mix of them', () => {
    const targets = { keys: ['app:v1:a'], keyPatterns: ['app:v1:b:*'], paths: ['/c'], tags: ['t:1'] };
    const names = Object.keys(targets) as (keyof typeof targets)[];
    for (const a of names) {
      for (const b of names) {
        const detail = { [a]: targets[a], [b]: targets[b] };
        expect(decodeInvalidationMessage(event(detail), keys.prefix).kind).toBe('event');
      }
    }
  });

  it('names the JSON error', () => {
    expect(decodeRefusal('{"a": ')).toMatch(/^message body is not JSON: \S/);
    expect(decodeRefusal('"text"')).toBe('message body must be a JSON object');
    expect(decodeRefusal('null')).toBe('message body must be a JSON object');
    expect(decodeRefusal(JSON.stringify({ 'detail-type': 5 }))).toBe('message is neither an EventBridge event (no "detail-type") nor a known envelope');
    expect(decodeRefusal(JSON.stringify({ kind: null, 'detail-type': 'CacheInvalidation', detail: { paths: ['/a'] } }))).toBe('unknown message kind null');
  });
});

describe('purgeAll', () => {
  it('lets an event purge the whole distribution and the whole namespace, and carries its reason', () => {
    const message = decodeInvalidationMessage(event({ paths: ['/*'], keyPatterns: ['app:v1:*'], purgeAll: { reason: 'schema change' } }), keys.prefix);
    expect(purgeAllOf(message)).toEqual({ reason: 'schema change' });
    expect(pathsOf(message)).toEqual(['/*']);
    expect(redisWorkOf(message, keys)).toMatchObject({ scans: [{ pattern: 'app:v1:*' }], purgeAll: { reason: 'schema change' } });
  });

  it('is required for /* and for a pattern that can match internal keys', () => {
    expect(decodeRefusal(event({ paths: ['/a', '/*'] }))).toBe('detail.paths[1] "/*" purges the whole distribution; acknowledge it with detail.purgeAll: { reason }');
    expect(reasonOf(event({ keyPatterns: ['app:v1:product:*', 'app:v1:*'] }))).toMatch(/^keyPatterns\[1\] "app:v1:\*" can match the runtime's /);
  });

  it.each([
    ['a string', 'yes'],
    ['no reason', {}],
    ['a blank reason', { reason: '  ' }],
    ['a reason that is not a string', { reason: 1 }],
    ['a reason too long', { reason: 'r'.repeat(1025) }],
    ['an array', [{ reason: 'x' }]],
  ])('is refused as %s', (_label, purgeAll) => {
    expect(decodeRefusal(event({ paths: ['/*'], purgeAll }))).toBe('purgeAll must be { reason } with a non-empty reason of at most 1024 characters');
  });

  it('keeps only the reason', () => {
    const message = decodeInvalidationMessage(event({ paths: ['/*'], purgeAll: { reason: 'r'.repeat(1024), extra: true } }), keys.prefix);
    expect(purgeAllOf(message)).toEqual({ reason: 'r'.repeat(1024) });
  });

  it('is carried by continuations and CDN purges, never by a mapping', () => {
    const cont = decodeInvalidationMessage(continuation({ paths: ['/*'], purgeAll: { reason: 'all' } }), keys.prefix);
    expect(purgeAllOf(cont)).toEqual({ reason: 'all' });
    expect(redisWorkOf(cont, keys).purgeAll).toEqual({ reason: 'all' });
    expect(decodeRefusal(continuation({ paths: ['/*'] }))).toBe('continuation paths[0] "/*" purges the whole distribution; acknowledge it with detail.purgeAll: { reason }');
    const forward = decodeInvalidationMessage(cdn({ paths: ['/*'], purgeAll: { reason: 'all' } }), keys.prefix);
    expect(purgeAllOf(forward)).toEqual({ reason: 'all' });
    expect(decodeRefusal(cdn({ paths: ['/*'] }))).toBe('paths[0] "/*" purges the whole distribution; acknowledge it with detail.purgeAll: { reason }');
    expect(purgeAllOf(decodeInvalidationMessage(mapped({}), keys.prefix))).toBeUndefined();
    expect(redisWorkOf(decodeInvalidationMessage(mapped({}), keys.prefix), keys)).not.toHaveProperty('purgeAll');
  });

  it('never lets a mapping expand to /*', () => {
    const mapping = checkInvalidationMapping({ source: 's', detailType: 'D', paths: ['/{detail.path}', '/*'] }, keys.prefix);
    const message = decodeInvalidationMessage(JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping, event: { detail: { path: '*' } } }), keys.prefix);
    expect(() => pathsOf(message)).toThrow(
      new UnprocessableEventError('the mapping\'s paths[1] "/*" purges the whole distribution; acknowledge it with detail.purgeAll: { reason }'),
    );
  });
});

describe('continuations', () => {
  it('decodes the work to resume: its hop, origin, reason and scans as they are', () => {
    const scans = [{ pattern: 'app:v1:product:*', cursors: { 'a:1': '0', 'b:2': '99' }, finished: ['c:3'], topology: 'f'.repeat(64) }];
    const message = decodeInvalidationMessage(continuation({ hop: 3, origin: { eventId: 'e' }, reason: 'edit', scans, paths: ['/p'] }), keys.prefix);
    expect(reasonOf2(message)).toBe('edit');
    expect(redisWorkOf(message, keys)).toEqual({ keys: [], tags: [], scans, hop: 3, origin: { eventId: 'e' }, reason: 'edit', paths: ['/p'] });
    expect(pathsOf(decodeInvalidationMessage(continuation({}), keys.prefix))).toEqual([]);
  });

  it.each([
    ['version 2', { version: 2 }, 'continuation version must be 1, got 2'],
    ['no version', { version: undefined }, 'continuation version must be 1, got undefined'],
    ['hop 0', { hop: 0 }, 'continuation hop must be a positive integer'],
    ['a fractional hop', { hop: 1.5 }, 'continuation hop must be a positive integer'],
    ['a hop as a string', { hop: '2' }, 'continuation hop must be a positive integer'],
    ['no scans', { scans: [] }, `continuation scans must be an array of 1-${MAX_PATTERNS_PER_EVENT} entries`],
    ['scans not an array', { scans: {} }, `continuation scans must be an array of 1-${MAX_PATTERNS_PER_EVENT} entries`],
    [
      'too many scans',
      { scans: Array.from({ length: MAX_PATTERNS_PER_EVENT + 1 }, (_, i) => ({ pattern: `app:v1:p${i}:*`, cursors: {}, finished: [] })) },
      `continuation scans must be an array of 1-${MAX_PATTERNS_PER_EVENT} entries`,
    ],
    ['a scan that is not an object', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [] }, 'x'] }, 'continuation scans[1] must be { pattern, cursors, finished }'],
    ['a scan without a pattern', { scans: [{ cursors: {}, finished: [] }] }, 'continuation scans[0] must be { pattern, cursors, finished }'],
    ['a scan with array cursors', { scans: [{ pattern: 'app:v1:a*', cursors: [], finished: [] }] }, 'continuation scans[0] must be { pattern, cursors, finished }'],
    ['a scan without finished', { scans: [{ pattern: 'app:v1:a*', cursors: {} }] }, 'continuation scans[0] must be { pattern, cursors, finished }'],
    ['a numeric cursor', { scans: [{ pattern: 'app:v1:a*', cursors: { n: 5 }, finished: [] }] }, 'continuation scans[0].cursors must be decimal strings'],
    ['a cursor with a sign', { scans: [{ pattern: 'app:v1:a*', cursors: { n: '5', m: '-5' }, finished: [] }] }, 'continuation scans[0].cursors must be decimal strings'],
    ['a cursor with a suffix', { scans: [{ pattern: 'app:v1:a*', cursors: { n: '5x' }, finished: [] }] }, 'continuation scans[0].cursors must be decimal strings'],
    ['an empty cursor', { scans: [{ pattern: 'app:v1:a*', cursors: { n: '' }, finished: [] }] }, 'continuation scans[0].cursors must be decimal strings'],
    ['a node name that is not a string', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: ['a:1', 2] }] }, 'continuation scans[0].finished must be node names'],
    ['a topology too long', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], topology: 'f'.repeat(65) }] }, 'continuation scans[0].topology must be a layout hash'],
    ['a topology that is not a string', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], topology: 1 }] }, 'continuation scans[0].topology must be a layout hash'],
    ['a start that is not a number', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], startedAt: '1' }] }, 'continuation scans[0].startedAt must be epoch ms'],
    ['a start that is not finite', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], startedAt: null }] }, 'continuation scans[0].startedAt must be epoch ms'],
    ['a negative start', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], startedAt: -1 }] }, 'continuation scans[0].startedAt must be epoch ms'],
    ['a first pass named 1', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], startedAt: 1, pass: 1 }] }, 'continuation scans[0].pass must be 2 or absent'],
    ['a pass as a string', { scans: [{ pattern: 'app:v1:a*', cursors: {}, finished: [], pass: '2' }] }, 'continuation scans[0].pass must be 2 or absent'],
    ['paths that are not an array', { paths: '/a' }, 'continuation paths must be an array of strings, got string'],
  ])('refuses %s', (_label, fields, reason) => {
    expect(decodeRefusal(continuation(fields))).toBe(reason);
  });

  it('resumes a second pass with its start, and a first pass started at epoch 0', () => {
    const scans = [
      { pattern: 'app:v1:a*', cursors: { 'h:1': '7' }, finished: [], startedAt: 1_700_000_000_000, pass: 2 },
      { pattern: 'app:v1:b*', cursors: {}, finished: [], startedAt: 0 },
    ];
    expect(redisWorkOf(decodeInvalidationMessage(continuation({ scans }), keys.prefix), keys).scans).toEqual(scans);
  });

  it(`takes up to ${MAX_PATTERNS_PER_EVENT} scans`, () => {
    const scans = Array.from({ length: MAX_PATTERNS_PER_EVENT }, (_, i) => ({ pattern: `app:v1:p${i}:*`, cursors: {}, finished: [] }));
    expect(redisWorkOf(decodeInvalidationMessage(continuation({ scans }), keys.prefix), keys).scans).toHaveLength(MAX_PATTERNS_PER_EVENT);
  });

  it('checks the resumed patterns against the namespace', () => {
    const message = decodeInvalidationMessage(continuation({ scans: [{ pattern: 'other:*', cursors: {}, finished: [] }] }), keys.prefix);
    expect(() => redisWorkOf(message, keys)).toThrow(new UnprocessableEventError('keyPatterns[0] "other:*" is outside the app namespace "app:v1:"'));
  });
});

describe('CDN purges', () => {
  it('decodes the forward as sent, with an empty origin when it has none', () => {
    expect(decodeInvalidationMessage(cdn({ reason: 'edit', origin: 'x' }), keys.prefix)).toEqual({
      kind: 'cdn',
      forward: { kind: CDN_PURGE_KIND, version: 1, paths: ['/a'], reason: 'edit', origin: {}, redisPurgedAt: 1 },
    });
    const message = decodeInvalidationMessage(cdn({ origin: { eventId: 'e' }, purgeAll: { reason: 'all' } }), keys.prefix);
    expect(message).toEqual({
      kind: 'cdn',
      forward: { kind: CDN_PURGE_KIND, version: 1, paths: ['/a'], reason: undefined, origin: { eventId: 'e' }, redisPurgedAt: 1, purgeAll: { reason: 'all' } },
    });
    expect(reasonOf2(decodeInvalidationMessage(cdn({ reason: 'edit' }), keys.prefix))).toBe('edit');
    expect(Object.keys(decodeInvalidationMessage(cdn({}), keys.prefix))).toEqual(['kind', 'forward']);
    expect(decodeInvalidationMessage(cdn({}), keys.prefix)).not.toHaveProperty('forward.purgeAll');
  });

  it.each([
    ['version 2', { version: 2 }, 'CDN purge version must be 1, got 2'],
    ['paths that are not an array', { paths: '/a' }, 'paths must be an array of strings, got string'],
    ['no paths at all', { paths: undefined }, 'a CDN purge must name at least one path'],
    ['a time that is not a number', { redisPurgedAt: '1' }, 'CDN purge redisPurgedAt must be a number of epoch ms'],
    ['a time given as a string', { redisPurgedAt: 'Infinity' }, 'CDN purge redisPurgedAt must be a number of epoch ms'],
    ['a reason too long', { reason: 'r'.repeat(1025) }, 'CDN purge reason must be a string of at most 1024 characters'],
    ['a reason that is not a string', { reason: 5 }, 'CDN purge reason must be a string of at most 1024 characters'],
  ])('refuses %s', (_label, fields, reason) => {
    expect(decodeRefusal(cdn(fields))).toBe(reason);
  });

  it('refuses an infinite time (1e999 in the JSON)', () => {
    expect(decodeRefusal(cdn({ redisPurgedAt: 0 }).replace('"redisPurgedAt":0', '"redisPurgedAt":1e999'))).toBe('CDN purge redisPurgedAt must be a number of epoch ms');
  });

  it('takes a reason of 1024 characters', () => {
    expect(reasonOf2(decodeInvalidationMessage(cdn({ reason: 'r'.repeat(1024) }), keys.prefix))).toBe('r'.repeat(1024));
  });
});

describe('mapped events', () => {
  it.each([
    ['version 2', { version: 2 }, 'mapped invalidation version must be 1, got 2'],
    ['no event', { event: undefined }, 'mapped invalidation must carry an object mapping and event'],
    ['an array event', { event: [] }, 'mapped invalidation must carry an object mapping and event'],
    ['a string mapping', { mapping: 'm' }, 'mapped invalidation must carry an object mapping and event'],
  ])('refuses %s', (_label, fields, reason) => {
    expect(decodeRefusal(mapped(fields))).toBe(reason);
  });

  it('leaves out an origin field of the app event that is not a string', () => {
    const message = decodeInvalidationMessage(mapped({ event: { id: 1, source: 'shop', 'detail-type': 5, detail: { id: 3 } } }), keys.prefix);
    expect(message).toMatchObject({ kind: 'mapped', origin: { eventId: undefined, source: 'shop', detailType: undefined } });
  });

  it('takes its origin from the app event it wraps', () => {
    const message = decodeInvalidationMessage(mapped({ event: { id: 'e-9', source: 'shop', 'detail-type': 'D', detail: { id: 3 } } }), keys.prefix);
    expect(message).toMatchObject({ kind: 'mapped', origin: { eventId: 'e-9', source: 'shop', detailType: 'D' } });
    expect(redisWorkOf(message, keys)).toMatchObject({ hop: 0, origin: { eventId: 'e-9', source: 'shop', detailType: 'D' }, paths: ['/p/3'], reason: 'D from s' });
  });
});

describe('redisWorkOf', () => {
  it('removes duplicate keys, tags and patterns', () => {
    const message = decodeInvalidationMessage(
      event({ keys: ['app:v1:a', 'app:v1:b', 'app:v1:a'], keyPatterns: ['app:v1:p:*', 'app:v1:p:*'], tags: ['t:1', 't:1'] }),
      keys.prefix,
    );
    expect(redisWorkOf(message, keys)).toMatchObject({ keys: ['app:v1:a', 'app:v1:b'], tags: ['t:1'], scans: [{ pattern: 'app:v1:p:*', cursors: {}, finished: [] }] });
  });

  it("refuses an exact key that is one of the runtime's internal keys, by index", () => {
    expect(reasonOf(event({ keys: ['app:v1:a', keys.tagClock()] }))).toBe(`keys[1] ${JSON.stringify(keys.tagClock())} is the runtime's tag clock, not a cached value; an invalidation may not remove it`);
  });

  it('refuses a pattern outside the namespace by index, and a pattern of locks', () => {
    expect(reasonOf(event({ keyPatterns: ['app:v1:a*', 'x*'] }))).toBe('keyPatterns[1] "x*" is outside the app namespace "app:v1:"');
    expect(reasonOf(event({ keyPatterns: ['app:v1:a:*:lock'] }))).toBe('keyPatterns[0] "app:v1:a:*:lock" names coalescing locks; a lock is removed only with its value');
  });

  it('refuses a key outside the namespace by index', () => {
    expect(reasonOf(event({ keys: ['app:v1:a', 'b'] }))).toBe('keys[1] "b" is outside the app namespace "app:v1:"');
  });
});

describe('the wire format', () => {
  it('keeps the names in-flight messages and deployed rules carry', () => {
    // Queues hold messages across deployments, and the pipeline's rules match these values: renaming one
    // would dead-letter every message in flight.
    expect([DEFAULT_INVALIDATION_SOURCE, CACHE_INVALIDATION_DETAIL_TYPE, MAPPED_INVALIDATION_KIND, REDIS_PURGE_CONTINUATION_KIND, CDN_PURGE_KIND]).toEqual([
      'cache-pyramid',
      'CacheInvalidation',
      'cache-pyramid.mapped-invalidation',
      'cache-pyramid.redis-purge-continuation',
      'cache-pyramid.cdn-purge',
    ]);
    expect(MAX_MESSAGE_BYTES).toBe(300 * 1024);
  });

  it('reads a message built in code with fields left out as naming none of them', () => {
    const message: InvalidationMessage = { kind: 'event', origin: {}, detail: { tags: ['t:1'] } };
    expect(pathsOf(message)).toEqual([]);
    expect(redisWorkOf(message, keys)).toEqual({ keys: [], tags: ['t:1'], scans: [], hop: 0, origin: {}, reason: undefined, paths: [] });
    expect(redisWorkOf({ kind: 'event', origin: {}, detail: { keys: ['app:v1:a'] } }, keys)).toMatchObject({ keys: ['app:v1:a'], tags: [], scans: [] });
  });
});
