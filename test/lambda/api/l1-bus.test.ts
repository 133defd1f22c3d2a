/**
 * `CACHE_L1_BUS` in the API runtime: instances built by createApiRuntime (as the Lambda adapter and
 * `npm run dev` build them) drop their L1 copy of a product another instance just wrote, instead of
 * serving it until the L1 TTL ends.
 */
import { ApiRuntime, createApiRuntime } from '../../../lambda/api/runtime';
import { BusMode, BusState, noopCacheLogger, parseBusMode } from '../../../lambda/runtime/cache';
import { PostgresServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent } from './support';
import { claims } from './write-support';

describe('parseBusMode', () => {
  test('off by default, and one of off, listen, sync', () => {
    expect(parseBusMode(undefined)).toBe(BusMode.OFF);
    expect(parseBusMode('')).toBe(BusMode.OFF);
    expect(parseBusMode('sync')).toBe(BusMode.SYNC);
    expect(parseBusMode('listen')).toBe(BusMode.LISTEN);
    expect(() => parseBusMode('on')).toThrow('CACHE_L1_BUS must be one of off, listen, sync, got "on"');
  });
});

describeEachTopology('API runtime with CACHE_L1_BUS', (topology) => {
  let server: PostgresServer;
  let databaseUrl: string;
  const runtimes: ApiRuntime[] = [];

  beforeAll(async () => {
    server = await PostgresServer.start();
    const seeded = await seededDatabase(server, { products: 10, users: 2 });
    databaseUrl = seeded.url;
    await seeded.pool.end();
  });

  afterAll(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await server?.stop();
  });

  async function instance(bus: string): Promise<ApiRuntime> {
    const t = topology.current();
    const cache = t.kind === 'standalone' ? { REDIS_URL: t.url } : { REDIS_URL: `redis://127.0.0.1:${t.startupNodes[0].port}`, CACHE_CLUSTER_MODE: 'true' };
    const runtime = await createApiRuntime({
      env: { ...cache, DATABASE_URL: databaseUrl, CACHE_L1_BUS: bus },
      readSecret: async () => {
        throw new Error('no secrets here');
      },
      logger: noopCacheLogger,
      // These instances are called directly, not through CloudFront.
      originVerify: false,
    });
    runtimes.push(runtime);
    if (runtime.bus && !(await runtime.bus.subscribed(10_000))) throw new Error('bus did not subscribe');
    return runtime;
  }

  async function product(runtime: ApiRuntime, id: number): Promise<{ name: string; cache: string }> {
    await runtime.beforeInvocation();
    const res = await runtime.handle(apiEvent(`/api/products/${id}`));
    expect(res.statusCode).toBe(200);
    return { name: (JSON.parse(res.body) as { name: string }).name, cache: res.headers['x-cache'] as string };
  }

  /**
   * Reads until `runtime` answers from L1. A sync PING that misses its reply timeout (a loaded
   * machine) rightly marks the bus lost and empties L1; the test needs the old copy held in L1
   * before the write, so it re-subscribes and reads again (bounded) rather than assume one read did it.
   */
  async function heldInL1(runtime: ApiRuntime, id: number): Promise<{ name: string; cache: string }> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      if (runtime.bus && !(await runtime.bus.subscribed(10_000))) throw new Error('bus did not subscribe again');
      const read = await product(runtime, id);
      if (read.cache === 'l1') return read;
    }
    throw new Error(`product ${id} never came from L1 in 20 reads`);
  }

  test('a product written through one instance is read fresh by another at its next invocation (sync); with the bus off, the old L1 copy is served', async () => {
    const writer = await instance('sync');
    const reader = await instance('sync');
    const ttlOnly = await instance('off');
    expect(reader.bus?.state).toBe(BusState.SUBSCRIBED);
    expect(ttlOnly.bus).toBeUndefined();
    const before = await product(reader, 3);
    await product(ttlOnly, 3);
    expect(await heldInL1(reader, 3)).toEqual({ name: before.name, cache: 'l1' });
    expect(await heldInL1(ttlOnly, 3)).toEqual({ name: before.name, cache: 'l1' });

    const current = JSON.parse((await writer.handle(apiEvent('/api/products/3'))).body) as Record<string, unknown>;
    const put = await writer.handle(
      apiEvent('/api/products/3', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        claims: claims(1, 'products:write'),
        body: JSON.stringify({
          name: 'Renamed on another instance',
          description: current.description,
          priceCents: current.priceCents,
          stock: current.stock,
          category: current.category,
          version: current.version,
        }),
      }),
    );
    expect(put.statusCode).toBe(200);

    expect((await product(reader, 3)).name).toBe('Renamed on another instance');
    expect(await product(ttlOnly, 3)).toEqual({ name: before.name, cache: 'l1' });
  });
});
