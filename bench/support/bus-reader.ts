/**
 * Process B of the L1 bus benchmark (forked by `bench/l1-bus.bench.ts`): a ReadThroughCache with L1
 * (the default 10 s L1 TTL), with or without the invalidation bus. On `watch` it reads the key
 * until the read comes from L1, tells the parent it is watching, then reads it again and again
 * (yielding to the event loop between reads, as a server between requests) until it sees the
 * expected value, and reports when (process.hrtime, CLOCK_MONOTONIC: comparable across processes).
 *
 * argv: <mode: bus|ttl> <config JSON: { url } | { clusterNodes }>.
 */
import { CacheClient, CacheClientConfig, InvalidationBus, ReadThroughCache } from '../../lambda/runtime/cache';
import { CacheKeys } from '../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../lambda/runtime/ttl';

export type Message = { type: 'watch'; key: string; expect: string } | { type: 'stop' };
export type Reply = { type: 'ready' } | { type: 'watching'; key: string } | { type: 'seen'; key: string; atNs: string; reads: number };

async function main(): Promise<void> {
  const [mode, configJson] = process.argv.slice(2);
  const config = JSON.parse(configJson) as CacheClientConfig;
  const client = CacheClient.connect({ ...config, commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
  if (!(await client.ready(10_000))) throw new Error('cache did not connect');
  const keys = new CacheKeys({ namespace: 'busbench', clusterMode: client.isCluster });
  const bus = mode === 'bus' ? InvalidationBus.connect(client, { channel: `${keys.prefix}bus` }) : undefined;
  if (bus && !(await bus.subscribed(10_000))) throw new Error('bus did not subscribe');
  const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, bus, earlyRefreshBeta: 0 });
  // The origin is the truth key the parent writes before it invalidates.
  const load = (key: string) => async () => {
    const raw = await client.get(`${key}:truth`);
    return raw === null ? null : (JSON.parse(raw) as { value: string; version: number });
  };
  const send = (reply: Reply) => process.send!(reply);
  const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

  async function watch(key: string, expected: string): Promise<void> {
    while ((await cache.get<string>(key, TtlClass.PRODUCT, load(key))).source !== 'l1') await yieldToLoop();
    send({ type: 'watching', key });
    let reads = 0;
    for (;;) {
      reads += 1;
      const read = await cache.get<string>(key, TtlClass.PRODUCT, load(key));
      if (read.value === expected) break;
      await yieldToLoop();
    }
    send({ type: 'seen', key, atNs: process.hrtime.bigint().toString(), reads });
  }

  process.on('message', (message: Message) => {
    if (message.type === 'stop') {
      void Promise.all([bus?.close(), client.quit()]).finally(() => process.exit(0));
      return;
    }
    void watch(message.key, message.expect);
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`bus reader failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
