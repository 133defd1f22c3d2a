/**
 * Helpers shared by the cache tests: a CacheClient per simulated process for the running topology,
 * a fresh key namespace per test, and an origin loader that counts its calls.
 */
import Redis, { Cluster } from 'ioredis';
import { CacheClient, CacheClientOptions, createRedis } from '../../../../lambda/runtime/cache';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import type { Topology } from '../../../support/topologies';

/**
 * Timers on a shared 2-core CI machine fire late under load (with both cores busy, `npm run
 * test:stress`, by several hundred milliseconds); latency bounds allow this much on top of the
 * configured timeouts. What they tell apart is "bounded by the timeout" from "waits for the hung
 * server", which without a timeout never returns.
 */
export const SCHEDULER_SLACK_MS = 1_000;

let namespaceCounter = 0;

/** A new namespace per call, so that tests sharing a server never see each other's keys. */
export function freshKeys(topology: Topology): CacheKeys {
  namespaceCounter += 1;
  return new CacheKeys({ namespace: `t${process.pid}-${namespaceCounter}`, clusterMode: topology.kind === 'cluster' });
}

export interface ClientOptions extends CacheClientOptions {
  readonly connectTimeoutMs?: number;
}

/**
 * A CacheClient with its own connection(s), as a separate process would have. Generous timeouts by
 * default, so that correctness tests are not disturbed by a loaded CI machine; fault tests pass the
 * production defaults explicitly.
 */
export async function connectClient(topology: Topology, options: ClientOptions = {}): Promise<CacheClient> {
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const redis =
    topology.kind === 'standalone'
      ? createRedis({ url: topology.url, commandTimeoutMs, connectTimeoutMs })
      : createRedis({ clusterNodes: topology.startupNodes, commandTimeoutMs, connectTimeoutMs });
  const client = new CacheClient(redis, { ...options, commandTimeoutMs, connectTimeoutMs });
  // A cluster node restarted by the previous test may take a while to answer on a loaded machine.
  if (!(await client.ready(30_000))) {
    redis.disconnect();
    throw new Error('cache client did not connect');
  }
  return client;
}

/**
 * Repeats `attempt` until `accept` holds for its result, or throws after `timeoutMs`. For
 * preconditions on a fast path (a value read from Redis with a 50 ms command timeout) that a busy
 * scheduler can make miss once; the behaviour under test is asserted afterwards, not retried.
 */
export async function untilAccepted<T>(what: string, attempt: () => Promise<T>, accept: (result: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (accept(result)) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A plain ioredis client for inspecting what the cache wrote (PTTL, raw values). */
export async function inspector(topology: Topology): Promise<Redis | Cluster> {
  const redis = topology.kind === 'standalone' ? new Redis(topology.url) : new Cluster(topology.startupNodes);
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
  return redis;
}

export interface CountingLoader<T> {
  /** The loader to hand to the cache. */
  readonly load: () => Promise<{ value: T; version?: number } | null>;
  /** How many times the origin was actually called. */
  calls(): number;
}

/** An origin that answers `answer()` after `delayMs` and counts every call it receives. */
export function countingLoader<T>(
  answer: (call: number) => { value: T; version?: number } | null,
  delayMs = 0,
): CountingLoader<T> {
  let calls = 0;
  return {
    load: async () => {
      calls += 1;
      const call = calls;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return answer(call);
    },
    calls: () => calls,
  };
}

/** Every key of `keys`' namespace with its PTTL, from every master. */
export async function pttlsOf(redis: Redis | Cluster, keys: CacheKeys): Promise<Map<string, number>> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const result = new Map<string, number>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${keys.prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of found) result.set(key, await node.pttl(key));
    } while (cursor !== '0');
  }
  return result;
}
