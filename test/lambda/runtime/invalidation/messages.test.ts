import { UnprocessableEventError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import {
  CDN_PURGE_KIND,
  MAPPED_INVALIDATION_KIND,
  MAX_MESSAGE_BYTES,
  REDIS_PURGE_CONTINUATION_KIND,
  decodeInvalidationMessage,
  pathsOf,
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
    ['a typo in the detail', event({ path: ['/a'] }), /unknown field\(s\) path; expected keys, keyPatterns, paths, tags, reason/],
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
