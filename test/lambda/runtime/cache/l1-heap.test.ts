/**
 * L1's byte bound bounds the heap (issue 20 part 7). A 16 MiB L1 is filled through the resource API
 * (origin loads, and reads back from Redis) until its LRU evicts, in a process of its own started
 * with `--expose-gc` (test/support/l1-heap-fill.ts); what `heapUsed` grew by after full collections
 * must stay within 1.5× the configured bound, for small values (~150 JSON bytes) and large ones
 * (~6 KB). The L1 as it was before, sized by JSON bytes and blind to the memoised bodies, is run
 * the same way and exceeds it. No timing: only bytes are compared.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { bindResource, CacheKeys, createResourceApi, defineResource, DEFAULT_TTL_SECONDS, ReadThroughCache, Sharing } from 'cache-pyramid/runtime';
import { MEMO_OVERHEAD_BYTES } from '../../../../lambda/runtime/resources/resource-api';
import { RedisServer } from '../../../support/servers';
import { NODE, tsxArgs } from '../../../support/tsx';
import { seedRedis, type FillOptions, type FillResult } from '../../../support/l1-heap-fill';
import { apiEvent } from '../../api/support';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..', '..', '..');
const BOUND = 16 * 1024 * 1024;
const DECODED_BOUND = 4 * 1024 * 1024;
/** The heap a full cache may hold, as a multiple of its bound. */
const HEAP_LIMIT = 1.5;
/** Each fill answers tens of thousands of requests in a child process; a loaded machine is slow at it. */
const FILL_TIMEOUT_MS = 240_000;

async function fill(options: FillOptions): Promise<FillResult> {
  const { stdout } = await run(NODE, ['--expose-gc', ...tsxArgs('test/support/l1-heap-fill.ts', JSON.stringify(options))], { cwd: ROOT, maxBuffer: 1024 * 1024 });
  const result = JSON.parse(stdout) as FillResult;
  const ratio = result.heapBytes / result.boundBytes;
  process.stdout.write(`l1 heap (${options.cache}, ${options.values}): ${(result.heapBytes / 2 ** 20).toFixed(1)} MiB for a ${(result.boundBytes / 2 ** 20).toFixed(0)} MiB bound (${ratio.toFixed(2)}×), ${result.l1Entries} entries of ~${result.valueChars} JSON chars\n`);
  return result;
}

describe('L1 bounded by the heap it holds', () => {
  test.each(['small', 'large'] as const)('filled with %s values through the resource API, the heap grows by at most 1.5× the bound', async (values) => {
    const result = await fill({ cache: 'fixed', values, bound: BOUND });
    expect(result.requests).toBeGreaterThan(result.l1Entries);
    expect(result.l1Bytes).toBeLessThanOrEqual(BOUND);
    expect(result.heapBytes).toBeLessThanOrEqual(HEAP_LIMIT * BOUND);
  }, FILL_TIMEOUT_MS);

  describe('read back from Redis: L1, the decoded entries and the memo hold the values', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    test.each(['small', 'large'] as const)('with %s values, the heap grows by at most 1.5× the two bounds together', async (values) => {
      const namespace = `heap-${values}`;
      await seedRedis(redis.url, namespace, values);
      const result = await fill({ cache: 'redis', values, bound: BOUND, decodedBound: DECODED_BOUND, redisUrl: redis.url, namespace });
      expect(result.redisHits).toBe(result.requests);
      expect(result.requests).toBeGreaterThan(result.l1Entries);
      expect(result.l1Bytes).toBeLessThanOrEqual(BOUND);
      expect(result.decodedBytes).toBeLessThanOrEqual(DECODED_BOUND);
      expect(result.heapBytes).toBeLessThanOrEqual(HEAP_LIMIT * (BOUND + DECODED_BOUND));
    }, FILL_TIMEOUT_MS);
  });

  test.each(['small', 'large'] as const)('naive (JSON bytes, memo not counted): filled with %s values, the heap grows past 1.5× the bound', async (values) => {
    const result = await fill({ cache: 'naive', values, bound: BOUND });
    expect(result.l1Bytes).toBeLessThanOrEqual(BOUND);
    expect(result.heapBytes).toBeGreaterThan(HEAP_LIMIT * BOUND);
  }, FILL_TIMEOUT_MS);

  test("an answer's memoised body and ETag are counted in its L1 entry, once", async () => {
    const keys = new CacheKeys({ namespace: 'memo' });
    const ttls = DEFAULT_TTL_SECONDS;
    const resource = defineResource<{ id: number; name: string }>({ name: 'thing', path: '/api/things/{id}', sharing: Sharing.PUBLIC, ttl: 600 });
    const binding = bindResource({ resource, load: async (params) => ({ id: Number(params.id), name: `thing ${params.id}` }) });
    const clock = () => 1_800_000_000_000;
    const viaApi = new ReadThroughCache({ keys, ttls, clock, earlyRefreshBeta: 0 });
    const plain = new ReadThroughCache({ keys, ttls, clock, earlyRefreshBeta: 0 });
    const api = createResourceApi({ bindings: [binding], cache: viaApi, keys, ttls, clock });

    const first = await api.handle(apiEvent('/api/things/7'));
    await api.handle(apiEvent('/api/things/7'));
    await plain.get(resource.key(keys, { id: 7 }), 600, async () => ({ value: { id: 7, name: 'thing 7' } }));

    expect(first?.body).toBe('{"id":7,"name":"thing 7"}');
    expect(viaApi.stats().served).toMatchObject({ origin: 1, l1: 1 });
    expect(viaApi.stats().l1.bytes - plain.stats().l1.bytes).toBe(MEMO_OVERHEAD_BYTES + first!.body.length);
  });
});
