/**
 * Removes cache entries named by an invalidation: exact keys with their coalescing locks
 * (`purgeEntries`: `UNLINK`, in cluster mode grouped per slot and sent as one pipeline per master),
 * tag sets with their members, and patterns by `SCAN MATCH` on every master (never `KEYS`).
 *
 * A pattern purge can outgrow one invocation (a large keyspace, a slow node). The scan stops at
 * `deadline` and returns, per pattern, the cursor of each master it did not finish; the adapter sends
 * that state as a continuation message to its own queue, and the next invocation resumes from those
 * cursors. A continuation is a new message, so a long purge never uses up the record's receive count
 * (which would send it to the DLQ although it is progressing), and no state lives in Redis, which may
 * be the very thing that is failing. `SCAN` cursors are stateless on the server, so a cursor is valid
 * on any later connection to the same node; if the masters changed (failover, resharding), the new
 * masters are scanned from the start, which is safe because deleting twice is harmless.
 */
import { createHash } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';
import type { LuaScript } from '../cache/cache-client';
import { hashSlot } from '../cache/hash-slot';
import { DEFAULT_LOCK_TTL_MS, UNLINK_UP_TO_VERSION } from '../cache/scripts';
import { encodeBusMessage, InvalidationBus, withTimeout } from '../cache/invalidation-bus';
import { TagIndex, TagStore } from '../cache/tag-index';
import { CacheKeys, LOCK_SUFFIX } from '../keys';
import { isPurgeableScanMatch } from './blast-radius';
import { PatternScanState } from './messages';
import { InvalidationLogger, InvalidationMetric, InvalidationMetrics, noopInvalidationLogger, noopInvalidationMetrics } from './observability';

export interface RedisPurgeOptions {
  /** A standalone client or a cluster client. */
  readonly redis: Redis | Cluster;
  readonly cacheKeys: CacheKeys;
  /** The clock (ms); injected so tests control the time budget. */
  readonly now: () => number;
  /** Clock time after which no new `SCAN` step starts. At least one step always runs, so every call progresses. */
  readonly deadline: number;
  /** `SCAN … COUNT` hint. @default 1000 */
  readonly scanCount?: number;
  /** Keys per `UNLINK` command. @default 500 */
  readonly unlinkBatchSize?: number;
  /**
   * Cluster only: a pattern scan counts as complete only after a pass over every master during which
   * no slot changed owner or was mid-migration; otherwise it starts again. A key that `MIGRATE` moved
   * from a master not yet scanned to one already scanned would else survive the purge. `false` saves
   * one `CLUSTER NODES` per master per pass on a cluster that is never resharded.
   * @default true
   */
  readonly verifyTopology?: boolean;
  /**
   * After the purge, `WAIT` on every master until this many replicas acknowledged it, at most
   * `timeoutMs`; fewer is an error, so the message is retried (SQS) — after a failover, on the new
   * master. Without it a purge acknowledged by a master that dies before replicating is lost.
   * @default - no WAIT
   */
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
  /**
   * Announce what was removed on the L1 invalidation bus (`InvalidationBus.channelFor(cacheKeys)`), so
   * that every API instance listening drops its in-process copies within milliseconds instead of at
   * their L1 TTL: exact keys by name; tags and patterns drop every L1 copy (L1 keeps no tag index).
   * Best effort: a failed announcement is logged, the purge still counts (the CDN purge waits out the
   * L1 TTL anyway).
   * @default true
   */
  readonly announceOnBus?: boolean;
  /**
   * How long a fill may stay in flight: the longest coalescing lock TTL (`lock.ttlMs`) of the caches
   * that fill these keys. A pattern scan runs a second pass once this long after its first began, so
   * that it also removes the pages whose loads began before the purge and whose fills landed behind
   * the first pass. Within one invocation when the deadline allows; otherwise the continuation
   * carries the second pass (its `startedAt` and `pass`).
   * @default DEFAULT_LOCK_TTL_MS (the runtime's default lock TTL)
   */
  readonly fillWindowMs?: number;
  /** Waits for the second pass; injected so tests need not. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly metrics?: InvalidationMetrics;
  readonly logger?: InvalidationLogger;
}

/** What a purge should remove. */
export interface RedisPurgeRequest {
  /** Exact keys; tag sets among them (`CacheKeys.isTag`) are purged as their tags (see `tags`). */
  readonly keys: readonly string[];
  /** Pattern scans, fresh (`{ pattern, cursors: {}, finished: [] }`) or resumed from a continuation. */
  readonly scans: readonly PatternScanState[];
  /** Tags (cache/tag-index.ts): every key recorded under one is removed, and its CDN paths reported. @default - none */
  readonly tags?: readonly string[];
  /** Exact keys are removed only where they carry no version or one at most this (CacheInvalidationDetail.upToVersion). @default - all */
  readonly upToVersion?: number;
}

export interface RedisPurgeResult {
  /** Keys that existed and were removed (sum of `UNLINK` replies): exact keys with their locks, tag members and pattern matches. */
  readonly unlinked: number;
  readonly tagsCleared: number;
  /** CDN paths recorded with the removed tag members, sorted: the CDN purge that must follow this one. */
  readonly cdnPaths: readonly string[];
  /** Tags whose set was gone (evicted): their values are unreadable, their CDN paths unknown (TagInvalidation.unknownTags). */
  readonly unknownTags: readonly string[];
  /**
   * The tag members this purge invalidated are still in their sets: remove them with
   * {@link cleanupTags} once `cdnPaths` are safe (forwarded, or carried by a continuation), so that a
   * retry after a failure in between finds them again. Undefined when no tag was purged.
   */
  readonly tagCleanup?: TagCleanup;
  /** `SCAN` steps run. */
  readonly scanSteps: number;
  /** Scans not finished before the deadline, with the cursor of each master to resume from. */
  readonly remaining: readonly PatternScanState[];
}

interface Master {
  readonly name: string;
  readonly client: Redis;
}

const STANDALONE = 'standalone';

function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function nodeName(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

function masters(redis: Redis | Cluster): Master[] {
  if (!isCluster(redis)) return [{ name: STANDALONE, client: redis }];
  return redis
    .nodes('master')
    .map((client) => ({ name: nodeName(client), client }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Who serves which slots, as each master states it (its own `CLUSTER NODES` line, with `[slot->-id]`
 * / `[slot-<-id]` markers while a slot migrates), hashed: equal before and after a pass, and without
 * markers, means no key moved between masters during it.
 */
async function topologyOf(nodes: readonly Master[]): Promise<string> {
  const texts = await Promise.all(nodes.map(async (node) => String(await node.client.call('CLUSTER', 'NODES'))));
  // A master the client does not know yet (one just added) is a layout that is still changing.
  const serving = texts[0].split('\n').filter((line) => / master /.test(` ${line.split(' ')[2]?.replace(/,/g, ' ')} `) && line.split(' ').length > 8);
  const unknown = serving.some((line) => !nodes.some((n) => line.split(' ')[1]?.startsWith(`${n.name}@`)));
  const lines = nodes.map((node, i) => {
    const self = texts[i].split('\n').find((line) => line.split(' ')[2]?.split(',').includes('myself')) ?? '';
    return `${node.name} ${self.split(' ').slice(8).join(' ')}`;
  });
  const joined = lines.join('\n');
  return `${joined.includes('[') || unknown ? '[' : ''}${createHash('sha1').update(joined).digest('hex')}`;
}

/** WAIT on every master connection this purge may have written through; throws when too few replicas acknowledged. */
async function waitForReplicas(redis: Redis | Cluster, replicas: number, timeoutMs: number): Promise<void> {
  const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
  const acked = await Promise.all(nodes.map((node) => node.wait(replicas, Math.ceil(timeoutMs))));
  const short = nodes.filter((_, i) => acked[i] < replicas).map(nodeName);
  if (short.length > 0) throw new Error(`purge not acknowledged by ${replicas} replica(s) within ${timeoutMs} ms on ${short.join(', ')}; it will be retried`);
}

/**
 * What a scan step removes of the keys it `found`: each value together with its coalescing lock, and
 * each lock together with its value, side by side so that one `UNLINK` drops both (they share a slot
 * in cluster mode). A fill in flight took its lock before the purge and may land after the scan passed
 * its value's name; the lock alone is what refuses it, so wherever the scan meets the pair first, both
 * go at once. Removing them one at a time as the scan met them left the page a fill stored between
 * the two steps (test/lambda/runtime/invalidation/pattern-purge-locks.test.ts). Internal keys (tag
 * sets, marks, the clock) stay even under purgeAll: their loss breaks guarantees, not caches.
 */
export function withTheirLocks(found: readonly string[], cacheKeys: CacheKeys): string[] {
  const pairs: string[] = [];
  // A lock whose name, less the suffix, is an internal key guards no value: it goes alone, after the
  // pairs, so that the batches (of an even size) never split a pair.
  const alone: string[] = [];
  const seen = new Set<string>();
  for (const key of found) {
    if (!isPurgeableScanMatch(key, cacheKeys)) continue;
    const value = key.endsWith(LOCK_SUFFIX) ? key.slice(0, -LOCK_SUFFIX.length) : key;
    if (seen.has(value)) continue;
    seen.add(value);
    if (isPurgeableScanMatch(value, cacheKeys)) pairs.push(cacheKeys.lock(value), value);
    else alone.push(key);
  }
  return [...pairs, ...alone];
}

/** Makes the cluster client reload the slot map, so that a pass scans the masters serving now. */
async function refreshMasters(redis: Cluster): Promise<void> {
  await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
}

/** Errors after which a cluster command should go through the cluster client, which follows redirects. */
function isRedirect(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/.test(error.message);
}

/**
 * `UNLINK`s `keys`: standalone in pipelined batches; cluster grouped by slot (a multi-key command must
 * stay in one slot), one pipeline per master; a group the node refuses with a redirect (resharding) is
 * retried through the cluster client. Batches keep the order of `keys`. Returns how many keys existed.
 */
export async function unlinkKeys(redis: Redis | Cluster, keys: readonly string[], batchSize = 500): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(redis)) {
    const pipeline = redis.pipeline();
    for (const batch of chunk(keys, batchSize)) pipeline.unlink(...batch);
    return sumReplies(await pipeline.exec());
  }
  const bySlot = new Map<number, string[]>();
  for (const key of keys) {
    const slot = hashSlot(key);
    const group = bySlot.get(slot) ?? [];
    group.push(key);
    bySlot.set(slot, group);
  }
  const nodes = new Map(redis.nodes('master').map((node) => [nodeName(node), node]));
  const byNode = new Map<Redis | undefined, string[][]>();
  for (const [slot, group] of bySlot) {
    const node = nodes.get(redis.slots[slot]?.[0] ?? '');
    const batches = byNode.get(node) ?? [];
    batches.push(...chunk(group, batchSize));
    byNode.set(node, batches);
  }
  const counts = await Promise.all(
    [...byNode].map(async ([node, batches]) => {
      if (!node) return sumOf(await Promise.all(batches.map((batch) => redis.unlink(...batch))));
      const pipeline = node.pipeline();
      for (const batch of batches) pipeline.unlink(...batch);
      const replies = (await pipeline.exec()) ?? [];
      let total = 0;
      for (const [i, [error, reply]] of replies.entries()) {
        if (!error) total += Number(reply);
        else if (isRedirect(error)) total += await redis.unlink(...batches[i]);
        else throw error;
      }
      return total;
    }),
  );
  return sumOf(counts);
}

/**
 * Removes cache entries named by an invalidation together with their coalescing locks, in one
 * `UNLINK` per batch (atomically with the entries). Dropping the lock is what refuses a
 * fill whose load began before the write: the reader holding that lock, and a reader that gave up
 * waiting for it (it fills only while that holder still has the lock, `FillMode.UNLOCKED`). Without
 * it, when the write could not leave its tombstone (Redis was failing, so this purge is the first
 * thing to reach Redis), such a fill landed in the emptied slot and served the replaced value for
 * the whole TTL. Returns how many keys existed, locks included.
 */
export async function purgeEntries(redis: Redis | Cluster, cacheKeys: CacheKeys, keys: readonly string[], batchSize = 500): Promise<number> {
  // Each lock next to its key, in batches of an even size: one command removes both, atomically, so no
  // fill can land between the two (a key and its lock share a slot in cluster mode).
  return unlinkKeys(redis, keys.flatMap((key) => [cacheKeys.lock(key), key]), 2 * batchSize);
}

/**
 * `purgeEntries` for a purge that may arrive after a later write: each key goes with its lock unless
 * it holds a version above `upToVersion` (one script per key, `UNLINK_UP_TO_VERSION`). Returns how
 * many keys existed and were removed.
 */
export async function purgeEntriesUpTo(redis: Redis | Cluster, cacheKeys: CacheKeys, keys: readonly string[], upToVersion: number): Promise<number> {
  const store = redisTagStore(redis);
  const replies = await Promise.all(keys.map((key) => store.eval(UNLINK_UP_TO_VERSION, [key, cacheKeys.lock(key)], [upToVersion])));
  return sumOf(replies.map(Number));
}

function sumOf(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sumReplies(replies: [Error | null, unknown][] | null): number {
  let total = 0;
  for (const [error, reply] of replies ?? []) {
    if (error) throw error;
    total += Number(reply);
  }
  return total;
}

/** The tag index's operations over a raw ioredis client (the purgers hold one, not a `CacheClient`). */
export function redisTagStore(redis: Redis | Cluster, batchSize = 500): TagStore {
  return {
    eval: async (script: LuaScript, keys, args) => {
      try {
        return await redis.evalsha(script.sha1, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(script.source, keys.length, ...keys, ...args);
      }
    },
    // An even batch size: a key and the lock next to it go in one UNLINK (TagStore.unlink).
    unlink: (keys) => unlinkKeys(redis, keys, 2 * batchSize),
  };
}

function outsideNamespace(key: string, cacheKeys: CacheKeys): RangeError {
  return new RangeError(`refusing to purge ${JSON.stringify(key)}: it is outside the app namespace ${JSON.stringify(cacheKeys.prefix)}`);
}

/** Runs one invalidation's Redis work; see the module comment for how unfinished scans resume. */
export async function purgeRedis(request: RedisPurgeRequest, options: RedisPurgeOptions): Promise<RedisPurgeResult> {
  const { redis, cacheKeys, now, deadline } = options;
  const scanCount = options.scanCount ?? 1000;
  const batchSize = options.unlinkBatchSize ?? 500;
  const fillWindowMs = options.fillWindowMs ?? DEFAULT_LOCK_TTL_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const metrics = options.metrics ?? noopInvalidationMetrics;
  const logger = options.logger ?? noopInvalidationLogger;

  const tags: string[] = [];
  const plain: string[] = [];
  // One pass: a purge may name tens of thousands of keys.
  for (const key of request.keys) {
    if (!cacheKeys.owns(key)) throw outsideNamespace(key, cacheKeys);
    (cacheKeys.isTag(key) ? tags : plain).push(key);
  }
  for (const { pattern } of request.scans) {
    if (!cacheKeys.owns(pattern)) throw outsideNamespace(pattern, cacheKeys);
  }
  let unlinked = request.upToVersion === undefined ? await purgeEntries(redis, cacheKeys, plain, batchSize) : await purgeEntriesUpTo(redis, cacheKeys, plain, request.upToVersion);
  const cdnPaths = new Set<string>();
  const tagNames = [...new Set([...tags.map((key) => cacheKeys.tagOf(key)!), ...(request.tags ?? [])])];
  let tagCleanup: TagCleanup | undefined;
  let unknownTags: string[] = [];
  if (tagNames.length > 0) {
    // Members stay in their sets until the caller has made their CDN paths safe (cleanupTags).
    const invalidated = await new TagIndex(redisTagStore(redis, batchSize), cacheKeys).invalidate(tagNames, { deferCleanup: true });
    unlinked += invalidated.unlinked;
    for (const path of invalidated.cdnPaths) cdnPaths.add(path);
    unknownTags = invalidated.unknownTags;
    tagCleanup = { tags: tagNames, clock: invalidated.clock };
    if (unknownTags.length > 0) logger.warn('tag sets gone (evicted?): their values are unreadable, their CDN paths unknown', { tags: unknownTags });
  }
  const tagsCleared = tagNames.length;

  let scanSteps = 0;
  const remaining: PatternScanState[] = [];
  let nodes = request.scans.length > 0 ? masters(redis) : [];
  // With no master known (cluster not ready), finishing the scans would silently purge nothing.
  if (request.scans.length > 0 && nodes.length === 0) throw new Error('no Redis master is known yet; the pattern purge will be retried');
  const verify = isCluster(redis) && options.verifyTopology !== false;
  for (const requested of request.scans) {
    let scan: PatternScanState = requested.startedAt === undefined ? { ...requested, startedAt: now() } : requested;
    const fresh = (state: PatternScanState): boolean => state.finished.length === 0 && Object.keys(state.cursors).length === 0;
    let topology = verify && fresh(scan) ? await topologyOf(nodes) : scan.topology;
    const passOf = (state: PatternScanState): Pick<PatternScanState, 'startedAt' | 'pass'> => ({ startedAt: state.startedAt, ...(state.pass ? { pass: state.pass } : {}) });
    for (;;) {
      if (scan.pass === 2 && fresh(scan)) {
        // A fill whose load began before the purge may land in a part of the keyspace the first pass
        // had already scanned (its lock taken before the purge, released by the fill itself); every
        // such fill lands within its lock's TTL or is refused. A second pass begun once that window
        // has passed since the first began finds all of them.
        const secondPassAt = scan.startedAt! + fillWindowMs;
        if (secondPassAt >= deadline) {
          remaining.push({ ...scan, ...(topology ? { topology } : {}) });
          break;
        }
        const wait = secondPassAt - now();
        if (wait > 0) await sleep(wait);
      }
      const cursors: Record<string, string> = {};
      const finished = new Set(scan.finished);
      for (const node of nodes) {
        if (finished.has(node.name)) continue;
        let cursor = scan.cursors[node.name] ?? '0';
        let done = false;
        while (!done && (scanSteps === 0 || now() < deadline)) {
          const [next, found] = await node.client.scan(cursor, 'MATCH', scan.pattern, 'COUNT', scanCount);
          scanSteps++;
          unlinked += await unlinkKeys(isCluster(redis) ? redis : node.client, withTheirLocks(found, cacheKeys), 2 * batchSize);
          cursor = next;
          done = cursor === '0';
        }
        if (done) finished.add(node.name);
        else cursors[node.name] = cursor;
      }
      const current = new Set(nodes.map((n) => n.name));
      if (nodes.some((n) => !finished.has(n.name))) {
        remaining.push({ pattern: scan.pattern, cursors, finished: [...finished].filter((n) => current.has(n)).sort(), ...(topology ? { topology } : {}), ...passOf(scan) });
        break;
      }
      const after = verify ? await topologyOf(nodes) : undefined;
      if (!verify || (topology !== undefined && after === topology && !after.includes('['))) {
        if (scan.pass === 2) break;
        scan = { pattern: scan.pattern, cursors: {}, finished: [], startedAt: scan.startedAt, pass: 2 };
      } else {
        // Slots moved or were moving during the pass: scan every master again, now or in a continuation.
        logger.info('slots moved during a pattern purge; scanning every master again', { pattern: scan.pattern });
        scan = { pattern: scan.pattern, cursors: {}, finished: [], ...passOf(scan) };
        if (isCluster(redis)) await refreshMasters(redis);
      }
      nodes = masters(redis);
      topology = verify ? await topologyOf(nodes) : undefined;
      if (now() >= deadline) {
        remaining.push({ ...scan, ...(topology ? { topology } : {}) });
        break;
      }
    }
  }

  if (options.replicaAcks) await waitForReplicas(redis, options.replicaAcks.replicas, options.replicaAcks.timeoutMs);
  if (options.announceOnBus !== false) await announce(redis, cacheKeys, { keys: plain, tags: [...tags, ...(request.tags ?? []), ...request.scans.map((scan) => scan.pattern)] }, logger);

  metrics.count(InvalidationMetric.KEYS_UNLINKED, unlinked);
  metrics.count(InvalidationMetric.TAGS_CLEARED, tagsCleared);
  metrics.count(InvalidationMetric.SCAN_STEPS, scanSteps);
  return { unlinked, tagsCleared, cdnPaths: [...cdnPaths].sort(), unknownTags, scanSteps, remaining, ...(tagCleanup ? { tagCleanup } : {}) };
}

/** The tag members a purge invalidated: the tags, and its clock value. */
export interface TagCleanup {
  readonly tags: readonly string[];
  readonly clock: number;
}

/** Removes from their sets the members the purge of `cleanup` invalidated (TagIndex.cleanup). */
export async function cleanupTags(redis: Redis | Cluster, cacheKeys: CacheKeys, cleanup: TagCleanup): Promise<void> {
  await new TagIndex(redisTagStore(redis), cacheKeys).cleanup(cleanup.tags, cleanup.clock);
}

/** Who the purger's bus messages come from (a cache ignores only its own origin). */
const PURGER_BUS_ORIGIN = 'redis-purger';
/** Longest a purge waits for its bus announcement to be taken. */
const ANNOUNCE_TIMEOUT_MS = 1_000;

/** Publishes one bus message for a purge (SPUBLISH in cluster mode, routed to the channel's slot). */
async function announce(redis: Redis | Cluster, cacheKeys: CacheKeys, removed: { keys: readonly string[]; tags: readonly string[] }, logger: InvalidationLogger): Promise<void> {
  if (removed.keys.length + removed.tags.length === 0) return;
  const channel = InvalidationBus.channelFor(cacheKeys);
  const payload = encodeBusMessage({ origin: PURGER_BUS_ORIGIN, keys: removed.keys.map((key) => ({ key })), tags: removed.tags, filled: [] });
  try {
    // Bounded: an announcement that cannot reach the channel's node (a slot moving, a node down) must
    // not hold up a purge that is already done.
    await withTimeout(isCluster(redis) ? redis.spublish(channel, payload) : redis.publish(channel, payload), ANNOUNCE_TIMEOUT_MS);
  } catch (error) {
    logger.warn('purge not announced on the L1 bus; other instances keep their L1 copies until the L1 TTL', { channel, error: String(error) });
  }
}
