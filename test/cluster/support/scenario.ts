/**
 * One cluster operation under load, judged: a steady phase, the operation (which returns once the
 * cluster has converged), a phase after it, then the verdict of ./judge.ts. Shared by the tests and
 * the benchmark (bench/cluster-ops.bench.ts).
 */
import { Pool } from 'pg';
import { createApi } from '../../../lambda/shop/api/api';
import { CacheClient, ReadThroughCache, TagIndex } from '../../../lambda/runtime/cache';
import { shopOrigin } from '../../../lambda/shop/api/read-bindings';
import { CacheKeys } from '../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS, TtlClass } from '../../../lambda/runtime/ttl';
import { SEED_CATEGORIES, userSubject } from '../../../db/seed/seed';
import { ClusterOperator } from '../../support/cluster-operations';
import { PostgresServer, RedisCluster } from '../../support/servers';
import { seededDatabase } from '../../lambda/runtime/db/support';
import { ClusterJudge, Verdict } from './judge';
import { Load, LoadOptions, sleep } from './load';
import type { WorkerReport } from './protocol';

export const KEYS = new CacheKeys({ clusterMode: true });
/** Generous: a request through a failing-over shard may wait for a command timeout or two, on a loaded machine. */
export const REQUEST_DEADLINE_MS = 10_000;
export const L1_TTL_SECONDS = 10;
/**
 * The write-behind's origin bound for a profile change: the load processes flush every 200 ms; a
 * flush on this loaded machine may take seconds (docs/runtime.md: "PostgreSQL: the flush latency").
 */
export const WRITE_BEHIND_FLUSH_MS = 5_000;

export interface ClusterEnvironment {
  readonly cluster: RedisCluster;
  readonly operator: ClusterOperator;
  readonly postgres: PostgresServer;
  readonly databaseUrl: string;
  readonly pool: Pool;
  stop(): Promise<void>;
}

/** A 3-master cluster with 1 replica each, converged, and a seeded PostgreSQL. */
export async function startEnvironment(): Promise<ClusterEnvironment> {
  const [cluster, postgres] = await Promise.all([RedisCluster.start({ replicasPerMaster: 1 }), PostgresServer.start()]);
  const operator = new ClusterOperator(cluster);
  await operator.waitUntilConverged();
  const { url, pool } = await seededDatabase(postgres, { products: 60, users: 24 });
  return {
    cluster,
    operator,
    postgres,
    databaseUrl: url,
    pool,
    stop: async () => {
      operator.close();
      await pool.end();
      await Promise.all([cluster.stop(), postgres.stop()]);
    },
  };
}

export function loadOptions(env: ClusterEnvironment, overrides: Partial<LoadOptions> = {}): LoadOptions {
  return {
    workers: 3,
    concurrency: 2,
    pauseMs: 5,
    startupNodes: env.cluster.startupNodes,
    databaseUrl: env.databaseUrl,
    productIds: Array.from({ length: 30 }, (_, i) => i + 1),
    userIds: Array.from({ length: 12 }, (_, i) => i + 1),
    categories: SEED_CATEGORIES.map((c) => c.slug),
    l1TtlSeconds: L1_TTL_SECONDS,
    commandTimeoutMs: 500,
    connectTimeoutMs: 1_000,
    replicaAcks: { replicas: 1, timeoutMs: 1_000 },
    ...overrides,
  };
}

export interface ScenarioOptions {
  readonly steadyMs: number;
  readonly afterMs: number;
  readonly load?: Partial<LoadOptions>;
  readonly operation: () => Promise<unknown>;
  /**
   * The operation kills a master (SIGKILL): the judge applies the documented exception for list
   * pages (JudgeOptions.listPagesMayReturn). @default false
   */
  readonly unplanned?: boolean;
}

export interface ScenarioResult {
  readonly verdict: Verdict;
  readonly reports: WorkerReport[];
  readonly loadStartedAt: number;
  readonly operationStartedAt: number;
  readonly operationEndedAt: number;
  readonly loadStoppedAt: number;
}

/**
 * Reads `product:<id>`, `user:<id>` or `list:<category>` (its first page) as a new process would (no
 * L1), through the API core; answers the version read (0 for a list page).
 */
async function freshReads(env: ClusterEnvironment): Promise<{ read: (resource: string) => Promise<number>; close: () => Promise<void> }> {
  const client = CacheClient.connect({ clusterNodes: env.cluster.startupNodes, commandTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
  await client.ready(30_000);
  const cache = new ReadThroughCache({ client, keys: KEYS, ttls: DEFAULT_TTL_SECONDS, l1: false });
  const handle = createApi({
    cache,
    personalCache: cache,
    tagIndex: new TagIndex(client, KEYS),
    keys: KEYS,
    ttls: DEFAULT_TTL_SECONDS,
    origin: shopOrigin(env.pool),
  });
  const read = async (resource: string): Promise<number> => {
    const [kind, id] = resource.split(':');
    const path = kind === 'product' ? `/api/products/${id}` : kind === 'list' ? '/api/products' : `/api/users/${id}`;
    const claims = kind === 'user' ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { sub: userSubject(Number(id)) }, scopes: [] } } } : {};
    const response = await handle({
      rawPath: path,
      rawQueryString: kind === 'list' ? `category=${id}` : '',
      headers: {},
      requestContext: { http: { method: 'GET', path }, ...claims },
    } as unknown as Parameters<typeof handle>[0]);
    if (response.statusCode !== 200) throw new Error(`fresh read of ${resource} answered ${response.statusCode}`);
    return kind === 'list' ? 0 : (JSON.parse(response.body!) as { version: number }).version;
  };
  return { read, close: () => client.quit() };
}

export async function runScenario(env: ClusterEnvironment, options: ScenarioOptions): Promise<ScenarioResult> {
  const load = await Load.start(loadOptions(env, options.load));
  let reports: WorkerReport[];
  let operationStartedAt: number;
  let operationEndedAt: number;
  try {
    await sleep(options.steadyMs);
    operationStartedAt = Date.now();
    await options.operation();
    operationEndedAt = Date.now();
    await sleep(options.afterMs);
    reports = await load.stop();
  } catch (error) {
    load.kill();
    throw error;
  }
  const loadStoppedAt = Date.now();
  await env.operator.waitUntilConverged();
  const judge = new ClusterJudge({
    requestDeadlineMs: REQUEST_DEADLINE_MS,
    l1TtlSeconds: L1_TTL_SECONDS,
    writeBehindFlushMs: WRITE_BEHIND_FLUSH_MS,
    ...(options.unplanned ? { listPagesMayReturn: { from: operationStartedAt, to: operationEndedAt, ttlMs: DEFAULT_TTL_SECONDS[TtlClass.PRODUCT_LIST] * 1000 } } : {}),
  });
  judge.add(reports);
  const reader = await freshReads(env);
  try {
    // The load purges categories faster than it re-reads them, so it often leaves no list page behind
    // for the purge check to judge. One page per purged category, read now (after every purge), makes
    // sure the scan has pages to find and decode; it must not flag them, and still flags any page the
    // load left from before a purge.
    for (const category of new Set(judge.purges().map((purge) => purge.category))) await reader.read(`list:${category}`);
    const verdict = await judge.verdict(env.operator, KEYS, reader.read);
    return { verdict, reports, loadStartedAt: load.startedAt, operationStartedAt, operationEndedAt, loadStoppedAt };
  } finally {
    await reader.close();
  }
}

/** The verdict without the bulky parts, for a readable failure message. */
export function summary(verdict: Verdict): Record<string, unknown> {
  return {
    requests: verdict.requests,
    reads: verdict.reads,
    writes: verdict.writes,
    purges: verdict.purges,
    longestSettleMs: verdict.longestSettleMs,
    failed: verdict.failed.slice(0, 10),
    failedCount: verdict.failed.length,
    stale: verdict.stale.slice(0, 10),
    staleCount: verdict.stale.length,
    incompletePurges: verdict.incompletePurges.slice(0, 10),
    invisibleWrites: verdict.invisibleWrites.slice(0, 10),
  };
}
