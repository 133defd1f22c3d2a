/**
 * The read path of the application cache: L1 (in-process LRU) → L2 (Redis) → origin, with request
 * coalescing, stale-while-revalidate, XFetch early refresh, negative caching and version-guarded
 * fills. The cache is an optimisation only: a failing, slow or absent Redis makes reads go to the
 * origin, it never makes them fail.
 *
 * Staleness bounds:
 * - L2 (Redis), after `invalidate`/`tombstone` returns: no later read is served data older than the
 *   write, because both drop the coalescing lock so that a fill already in flight is refused
 *   (`FILL_LOCK_LOST`), and a tombstone also refuses any fill of an older or unknown version. The one
 *   exception is an unversioned fill by a reader that gave up waiting for a lost lock holder
 *   (`lock.waitMs`) and loaded before the write: after a plain `invalidate` it may write old data,
 *   which then lives until its TTL. Use `tombstone` with versions where that matters.
 * - L1 (in-process): `invalidate` clears this process's L1 at once. Other processes keep their copy
 *   for at most `l1.ttlSeconds` (≤ 60 s) without a bus; with an {@link InvalidationBus} they drop it
 *   when its message arrives (milliseconds), and while the bus is not subscribed their L1 entries
 *   live at most `busFallbackL1TtlSeconds`.
 * - Coalescing: reads of a key in one process share its load, except after Redis refused that load's
 *   fill (a write dropped its lock, or stored a newer version or a tombstone): then the write may have
 *   answered before a joined read began, so each joined read reads again; the read that started the
 *   load keeps its value, as it began before the write (test/lambda/runtime/cache/joined-load.test.ts).
 * - Stale-while-revalidate serves an entry at most `staleTtlSeconds` past its soft expiry.
 * - Tagged entries (cache/tag-index.ts): a Redis read fetches the marks of the entry's tags with it
 *   and treats the entry as absent (not even stale) when one was invalidated after the entry's load
 *   began, or its mark was lost; so no tag invalidation, whatever Redis evicted, leaves a value
 *   readable from Redis. L1 copies are not checked: `forgetTagged` drops this process's, the bus
 *   (or the L1 TTL) other processes'.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CacheUnavailableError, OriginUnavailableError } from '../errors';
import type { CacheKeys } from '../keys';
import { CacheTtl, TtlClass, TtlTable, ttlSecondsOf, withJitter } from '../ttl';
import type { CacheClient, LuaScript } from './cache-client';
import { DecodedEntries, DecodedEntriesOptions, DEFAULT_DECODED_ENTRIES } from './decoded-entries';
import { decodeEnvelope, encodeEnvelope, Envelope, ENVELOPE_FORMAT, isTombstone } from './envelope';
import { hashTagOf } from './hash-slot';
import { entryCurrent, readMarks } from './tag-index';
import { BusEvent, BusKey, BusState, FillWatch, InvalidationBus } from './invalidation-bus';
import { attachBytes } from './heap-size';
import { LocalCache } from './local-cache';
import { CacheLogger, CacheMetric, CacheMetrics, noopCacheLogger, noopCacheMetrics } from './metrics';
import { ACQUIRE, DEFAULT_LOCK_TTL_MS, FILL, FILL_LOCK_LOST, FILL_WRITTEN, FillMode, RELEASE_LOCK, TOMBSTONE } from './scripts';

/** Where a read was answered from. `stale` is a value past its soft expiry (SWR or stale-if-error). */
export type CacheSource = 'l1' | 'redis' | 'origin' | 'stale';

export interface CacheRead<T> {
  /** The value; `null` means the origin does not have it (negatively cached). */
  readonly value: T | null;
  readonly source: CacheSource;
  /** When the value was read from the origin (epoch ms, by the writer's clock). */
  readonly storedAtMs: number;
  /** The origin's version of the value, when the loader gave one. */
  readonly version?: number;
  /** The value's own soft TTL, when its loader set one (`Loaded.ttlSeconds`). */
  readonly ttlSeconds?: number;
}

/** What an origin loader returns: the value and its version, or `null` when it does not exist. */
export type Loaded<T> = {
  readonly value: T;
  readonly version?: number;
  /** This value's soft TTL in seconds (1 to 30 days), instead of the read's TTL. @default - the TTL passed to `get` */
  readonly ttlSeconds?: number;
  /** False: answer this value but keep it out of every cache layer (and release the lock). @default true */
  readonly cache?: boolean;
  /** The value's tags and the invalidation clock when its origin read began (set by `TagIndex.loader`). @default - untagged */
  readonly tagged?: { readonly tags: readonly string[]; readonly ticket: number };
} | null;

export type Loader<T> = () => Promise<Loaded<T>>;

export interface ReadOptions {
  /** Past the soft TTL, answer with the stale value at once and refresh it in the background. @default false */
  readonly staleWhileRevalidate?: boolean;
  /** How long past the soft TTL a value stays in Redis (served by SWR, and by stale-if-error always). @default the cache's staleTtlSeconds */
  readonly staleTtlSeconds?: number;
  /**
   * When a stale value exists and the origin is slower than this, answer the stale value; the load
   * goes on in the background and fills the cache when it returns, if it still holds the coalescing
   * lock (`lock.ttlMs`: set it above the origin's slowest answer) (bentocache's `timeout`).
   * @default - none: wait for the origin
   */
  readonly softTimeoutMs?: number;
  /**
   * Past this the read stops waiting for the origin: the stale value if one exists, else an
   * `OriginUnavailableError` (503). The load still fills the cache if it returns later, and counts as
   * a failure for `graceBackoffMs` (bentocache's `hardTimeout`).
   * @default - none: wait for the origin
   */
  readonly hardTimeoutMs?: number;
  /**
   * After the origin failed (or hit the hard timeout) for this key, do not call it again for this
   * long while a stale value can be served; without a stale value the origin is still called
   * (bentocache's `grace.fallbackDuration`). Per process.
   * @default - none
   */
  readonly graceBackoffMs?: number;
}

/** `Retry-After` of the 503 a hard timeout without a stale value answers. */
const HARD_TIMEOUT_RETRY_AFTER_SECONDS = 5;
/** Keys whose tags are remembered for the next read's mark fetch (least recently read forgotten first). */
const MAX_PREDICTED_TAG_KEYS = 10_000;
/** Keys whose grace backoff is remembered at most (oldest forgotten first). */
const MAX_BACKOFF_KEYS = 10_000;

export interface L1Options {
  /** Upper bound on the heap the in-process cache's entries keep alive, in bytes (estimated: see LocalCacheOptions.maxBytes). */
  readonly maxBytes: number;
  /** Longest life of an in-process entry (≤ 60): the cross-process staleness bound. */
  readonly ttlSeconds: number;
}

export interface LockOptions {
  /** Life of the cross-process coalescing lock; an origin load slower than this loses it (its fill is refused). */
  readonly ttlMs: number;
  /** How long a reader waits for another process's load before loading itself. */
  readonly waitMs: number;
  /** First poll interval while waiting; it grows ×1.5 per poll up to 8×, with ±50 % jitter. */
  readonly pollMs: number;
}

export interface ReadThroughCacheDeps {
  /** L2. Without it the cache is L1 + in-process coalescing only. */
  readonly client?: CacheClient;
  /** Key builders; `clusterMode` must match the client. */
  readonly keys: CacheKeys;
  /** Soft TTLs per class, in seconds (jittered ±10 % on every write). */
  readonly ttls: TtlTable;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** [0, 1). Jitter and XFetch draw from it. @default Math.random */
  readonly random?: () => number;
  readonly metrics?: CacheMetrics;
  readonly logger?: CacheLogger;
  /** The in-process layer, or `false` for none. @default DEFAULT_L1 */
  readonly l1?: L1Options | false;
  /** @default DEFAULT_LOCK */
  readonly lock?: Partial<LockOptions>;
  /**
   * XFetch β: a fresh entry is refreshed early with probability rising as its soft expiry nears,
   * weighted by how long its load took (`now − loadMs·β·ln(rand) ≥ softExpiry`). 0 turns it off.
   * @default 1 (the value the XFetch paper recommends: refreshes start roughly one load-time early)
   */
  readonly earlyRefreshBeta?: number;
  /** Default stale window past the soft TTL, in seconds. @default 300 */
  readonly staleTtlSeconds?: number;
  /**
   * After a write of this process could not reach Redis (a tombstone or write-through failing during
   * a failover), this process refuses older versions of that key from Redis and L1 for this long, so
   * a writer reads its own write while Redis may still hold the value it replaced (until the purge
   * pipeline's retry removes it). Longer than a failover plus the retries. 0 turns it off.
   * @default 60000
   */
  readonly versionFloorMs?: number;
  /**
   * Make tombstones and write-through `put`s survive the failover of their master: each is followed by
   * `WAIT` until this many replicas acknowledged it, at most `timeoutMs`, in one pipeline on the
   * connection that ran it (CacheClient.evalAndWait: a `WAIT` sent separately can reach another master
   * while a slot migrates or fails over, and answer for a write it never saw). Replication is asynchronous, so a master that
   * dies right after acknowledging a tombstone can lose it, and its promoted replica would serve the
   * value the write replaced. A tombstone not acknowledged in time counts as failed: `tombstone`
   * throws, and the write path hands the key to the purge pipeline, which retries until the new
   * master answers. Only for replication groups with replicas (WAIT 1 on a lone primary always times out).
   * @default - no WAIT: a tombstone acknowledged by the master alone may be lost in a failover
   */
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
  /**
   * Keeps L1 coherent across processes: invalidations and versioned writes are published on it, and
   * its messages drop this process's copies; waiters for another process's load are told of the fill.
   * @default - no bus: another process's write shows here when the L1 copy expires (`l1.ttlSeconds`)
   */
  readonly bus?: InvalidationBus;
  /**
   * Reuse of decoded Redis entries: a Redis hit whose bytes equal the last ones read for its key
   * reuses that decode (see DecodedEntries; every read still asks Redis), or `false` to parse every
   * hit. @default DEFAULT_DECODED_ENTRIES (4 MiB)
   */
  readonly decodedEntries?: DecodedEntriesOptions | false;
  /**
   * Longest life of an L1 entry while the bus is not subscribed (messages may be missed meanwhile);
   * 0 turns L1 off until it is. @default 1
   */
  readonly busFallbackL1TtlSeconds?: number;
}

/** 16 MiB and 10 s: hot keys are absorbed in-process while another process's write shows within 10 s. */
export const DEFAULT_L1: L1Options = { maxBytes: 16 * 1024 * 1024, ttlSeconds: 10 };
/** A load may take 3 s before its lock is considered lost; waiters give up after 1 s. */
export const DEFAULT_LOCK: LockOptions = { ttlMs: DEFAULT_LOCK_TTL_MS, waitMs: 1_000, pollMs: 20 };
export const DEFAULT_STALE_TTL_SECONDS = 300;
export const DEFAULT_EARLY_REFRESH_BETA = 1;
export const DEFAULT_BUS_FALLBACK_L1_TTL_SECONDS = 1;
const MAX_POLL_GROWTH = 8;
/** See ReadThroughCacheDeps.versionFloorMs. */
export const DEFAULT_VERSION_FLOOR_MS = 60_000;

export interface CacheStats {
  /** Calls to `get`. */
  readonly reads: number;
  /** Reads answered per source (coalesced readers count under their leader's source). */
  readonly served: Readonly<Record<CacheSource, number>>;
  /** L1 lookups. */
  readonly l1: { readonly hits: number; readonly misses: number; readonly bytes: number; readonly entries: number };
  /** Decoded Redis entries held for reuse (`decodedEntries`): their estimated bytes and how many. */
  readonly decoded: { readonly bytes: number; readonly entries: number };
  /** Redis lookups (including a waiter's final read of another process's fill). */
  readonly redis: { readonly hits: number; readonly misses: number };
  /** Reads that joined another read of the same key in this process. */
  readonly coalesced: number;
  readonly originLoads: number;
  readonly originErrors: number;
  /** Cache operations that failed or were skipped by an open circuit; each read went on without the cache. */
  readonly cacheErrors: number;
  readonly backgroundRefreshes: number;
  /** Share of reads answered without waiting for the origin (l1 + redis + stale) / reads; 0 before any read. */
  readonly hitRate: number;
}

interface Counters {
  reads: number;
  served: Record<CacheSource, number>;
  l1Hits: number;
  l1Misses: number;
  redisHits: number;
  redisMisses: number;
  coalesced: number;
  originLoads: number;
  originErrors: number;
  cacheErrors: number;
  backgroundRefreshes: number;
}

/** The tags a key's last entry carried, their mark keys, and the key followed by them (one MGET). */
interface PredictedTags {
  readonly tags: readonly string[];
  readonly markKeys: readonly string[];
  readonly keyAndMarks: readonly string[];
}

type WaitOutcome<T> =
  | { readonly kind: 'filled'; readonly entry: Envelope<T>; readonly raw: string }
  | { readonly kind: 'acquired' }
  | { readonly kind: 'waiting'; readonly holder?: string }
  | { readonly kind: 'gave-up'; readonly holder?: string }
  | { readonly kind: 'unavailable' };

interface LoadPlan<T> {
  readonly key: string;
  readonly ttlClass: CacheTtl;
  readonly load: Loader<T>;
  readonly options: ReadOptions;
  readonly mode: FillMode | 'none';
  readonly token?: string;
  /** A value past its soft expiry, served if the origin fails (stale-if-error). */
  readonly stale?: Envelope<T>;
  /** The invalidation generation when the read began; a change means L1 must not keep the result. */
  readonly generation: number;
}

export class ReadThroughCache {
  readonly lock: LockOptions;
  readonly earlyRefreshBeta: number;
  readonly staleTtlSeconds: number;
  readonly versionFloorMs: number;
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
  private readonly client?: CacheClient;
  private readonly keys: CacheKeys;
  private readonly ttls: TtlTable;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly metrics: CacheMetrics;
  private readonly logger: CacheLogger;
  private readonly l1?: LocalCache;
  private readonly decoded?: DecodedEntries;
  private readonly inflight = new Map<string, Promise<CacheRead<unknown>>>();
  /** Loads whose fill Redis refused: reads that joined them read again (see `get`). */
  private readonly overtaken = new WeakSet<CacheRead<unknown>>();
  /** Per key, the tags (and their mark keys) of the last tagged entry read: the next read fetches those marks with the entry. */
  private readonly tagsByKey = new LRUCache<string, PredictedTags>({ max: MAX_PREDICTED_TAG_KEYS });
  private readonly refreshing = new Set<string>();
  /** Per key, until when the origin is not called while a stale value can be served (`graceBackoffMs`). */
  private readonly backoffUntil = new Map<string, number>();
  private readonly background = new Set<Promise<void>>();
  private generation = 0;
  /** Versions this process wrote that Redis may not have (see raiseFloor). */
  private readonly floors = new Map<string, { version: number; untilMs: number }>();
  private readonly bus?: InvalidationBus;
  /** This instance's id on the bus. */
  private readonly busOrigin = InvalidationBus.newOrigin();
  private readonly busFallbackL1TtlMs: number;
  /** Cap on an L1 entry's life while the bus cannot be trusted; undefined while it can (or there is none). */
  private l1CapMs?: number;
  private readonly counters: Counters = {
    reads: 0,
    served: { l1: 0, redis: 0, origin: 0, stale: 0 },
    l1Hits: 0,
    l1Misses: 0,
    redisHits: 0,
    redisMisses: 0,
    coalesced: 0,
    originLoads: 0,
    originErrors: 0,
    cacheErrors: 0,
    backgroundRefreshes: 0,
  };

  constructor(deps: ReadThroughCacheDeps) {
    if (deps.client && deps.client.isCluster !== deps.keys.clusterMode) {
      throw new Error(
        `keys.clusterMode must match the cache client (a ${deps.client.isCluster ? 'cluster' : 'standalone'} client), got ${deps.keys.clusterMode}`,
      );
    }
    this.client = deps.client;
    this.keys = deps.keys;
    this.ttls = deps.ttls;
    this.clock = deps.clock ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.metrics = deps.metrics ?? noopCacheMetrics;
    this.logger = deps.logger ?? noopCacheLogger;
    const l1 = deps.l1 === undefined ? DEFAULT_L1 : deps.l1;
    if (l1) this.l1 = new LocalCache({ ...l1, clock: deps.clock });
    const decoded = deps.decodedEntries === undefined ? DEFAULT_DECODED_ENTRIES : deps.decodedEntries;
    if (decoded) this.decoded = new DecodedEntries(decoded);
    this.lock = { ...DEFAULT_LOCK, ...deps.lock };
    for (const [name, value] of Object.entries(this.lock)) {
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`lock.${name} must be a positive number of milliseconds, got ${value}`);
    }
    this.earlyRefreshBeta = deps.earlyRefreshBeta ?? DEFAULT_EARLY_REFRESH_BETA;
    if (!(this.earlyRefreshBeta >= 0)) throw new RangeError(`earlyRefreshBeta must be ≥ 0, got ${deps.earlyRefreshBeta}`);
    this.staleTtlSeconds = checkStaleTtl(deps.staleTtlSeconds ?? DEFAULT_STALE_TTL_SECONDS);
    this.versionFloorMs = deps.versionFloorMs ?? DEFAULT_VERSION_FLOOR_MS;
    if (deps.replicaAcks) {
      const { replicas, timeoutMs } = deps.replicaAcks;
      if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicaAcks.replicas must be a positive integer, got ${replicas}`);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`replicaAcks.timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
      this.replicaAcks = deps.replicaAcks;
    }
    if (!(Number.isFinite(this.versionFloorMs) && this.versionFloorMs >= 0)) throw new RangeError(`versionFloorMs must be a non-negative number of milliseconds, got ${deps.versionFloorMs}`);
    const fallbackSeconds = deps.busFallbackL1TtlSeconds ?? DEFAULT_BUS_FALLBACK_L1_TTL_SECONDS;
    if (!(fallbackSeconds >= 0)) throw new RangeError(`busFallbackL1TtlSeconds must be ≥ 0, got ${deps.busFallbackL1TtlSeconds}`);
    this.busFallbackL1TtlMs = fallbackSeconds * 1000;
    if (deps.bus) {
      this.bus = deps.bus;
      if (deps.bus.state !== BusState.SUBSCRIBED) this.l1CapMs = this.busFallbackL1TtlMs;
      deps.bus.listen((event) => this.onBusEvent(event));
    }
  }

  /**
   * The value of `key`: from L1, else Redis, else `load()` (once per key across every process that
   * shares the Redis, thanks to coalescing). `null` = not found, cached for the `not_found` TTL.
   * Origin errors propagate unless a stale value can be served instead. The returned value may be
   * shared with other readers; treat it as read-only.
   */
  async get<T>(key: string, ttlClass: CacheTtl, load: Loader<T>, options: ReadOptions = {}): Promise<CacheRead<T>> {
    if (options.staleTtlSeconds !== undefined) checkStaleTtl(options.staleTtlSeconds);
    if (options.softTimeoutMs !== undefined || options.hardTimeoutMs !== undefined || options.graceBackoffMs !== undefined) checkLoaderOptions(options);
    this.checkKey(key);
    this.counters.reads += 1;
    const local = this.l1?.get<T>(key);
    if (local) {
      this.counters.l1Hits += 1;
      this.metrics.count(CacheMetric.L1_HIT);
      return this.served(readOf(local, 'l1'));
    }
    if (this.l1) {
      this.counters.l1Misses += 1;
      this.metrics.count(CacheMetric.L1_MISS);
    }
    const joined = this.inflight.get(key) as Promise<CacheRead<T>> | undefined;
    if (joined) {
      this.counters.coalesced += 1;
      // A load whose fill Redis refused was overtaken by a write (the write dropped its lock, or
      // stored a newer version or a tombstone): this read may have begun after that write, so it
      // reads again rather than take the load's value. The read that started the load keeps it.
      return joined.then((read) => (this.overtaken.has(read) ? this.get(key, ttlClass, load, options) : this.served(read)));
    }
    const read = this.readThrough(key, ttlClass, load, options);
    this.inflight.set(key, read);
    try {
      return this.served(await read);
    } finally {
      if (this.inflight.get(key) === read) this.inflight.delete(key);
    }
  }

  /**
   * Counts `bytes` that another layer keeps alive with `value` (the resource API's body and ETag of
   * it) in the size of every entry holding that very object: `key`'s entry in L1 and among the
   * decoded entries now, and any entry that holds it later. Call it once per value object.
   */
  attach(key: string, value: unknown, bytes: number): void {
    if (!attachBytes(value, bytes)) return;
    this.l1?.recount(key, value);
    this.decoded?.recount(key, value);
  }

  /**
   * Write-through: stores `value` (with the write's `version`) in Redis and L1 unless Redis holds a
   * strictly newer version. Returns whether it was stored. It wins over every fill that began before
   * it, versioned or not: it drops the coalescing lock, so a load in flight (which may have read
   * "not found" before the write committed) is refused when it tries to fill. Cache errors
   * propagate, so that the write path can fall back to invalidation.
   */
  async put<T>(key: string, ttlClass: CacheTtl, value: T | null, options: { version?: number; staleTtlSeconds?: number } = {}): Promise<boolean> {
    this.checkKey(key);
    this.forgetLocally([key]);
    const now = this.clock();
    const { entry, ttlMs } = this.buildEntry<T>(value === null ? null : { value, version: options.version }, ttlClass, now, 0, options);
    const raw = encodeEnvelope(entry);
    if (!this.client) {
      this.remember(key, entry, raw, this.generation);
      return true;
    }
    let reply: unknown;
    try {
      reply = await this.evalDurably('write-through', FILL, [key, this.keys.lock(key)], [raw, ttlMs, options.version ?? '', FillMode.WRITE, '']);
    } catch (error) {
      if (options.version !== undefined) this.raiseFloor(key, options.version);
      throw error;
    }
    const written = Number(reply) === FILL_WRITTEN;
    if (written) {
      this.remember(key, entry, raw, this.generation);
      await this.publish([{ key, version: options.version }]);
    }
    return written;
  }

  /**
   * Removes `keys` from L1 and Redis (UNLINK, one command per slot in cluster mode), together with
   * their coalescing locks so that a fill already in flight is refused. Reads in flight in this
   * process are detached: later reads start afresh. Cache errors propagate (the caller retries).
   */
  async invalidate(...keys: string[]): Promise<void> {
    this.forgetLocally(keys);
    if (!this.client || keys.length === 0) return;
    await this.client.unlink([...keys, ...keys.map((key) => this.keys.lock(key))]);
    await this.publish(keys.map((key) => ({ key })));
  }

  /**
   * Drops `keys` from this process's L1 (reads in flight are detached) and announces it on the bus,
   * for keys already removed from Redis by something else, such as `TagIndex.invalidate`: an
   * `invalidate` would UNLINK them a second time. Bus errors propagate.
   */
  async forgetRemoved(...keys: string[]): Promise<void> {
    this.forgetLocally(keys);
    await this.publish(keys.map((key) => ({ key })));
  }

  /**
   * After a tag invalidation (`TagIndex.invalidate`): drops from this process's L1 every entry
   * carrying one of `tags`, whether a tag set still named it or not (another instance's write may
   * have removed it from the set, or Redis evicted the set), and the `keys` the sets named; reads in
   * flight are detached. Then announces the tags on the bus (other instances drop their L1). Bus
   * errors propagate.
   */
  async forgetTagged(tags: readonly string[], keys: readonly string[] = []): Promise<void> {
    this.forgetLocally(keys);
    if (tags.length > 0) {
      const wanted = new Set(tags);
      this.l1?.deleteWhere((entry) => entry.g !== undefined && entry.g.some((tag) => wanted.has(tag)));
      // Loads in flight may carry a tag: none of them may enter L1 or be joined by later reads.
      this.inflight.clear();
    }
    if (!this.bus || keys.length + tags.length === 0) return;
    await this.bus.publish({ origin: this.busOrigin, keys: keys.map((key) => ({ key })), tags: [...tags], filled: [] });
  }

  /**
   * Replaces `key` with a short-lived tombstone carrying `version` (the version a write just
   * committed): until it expires, fills of an older or unknown version are refused, so a read that
   * began before the write cannot put the old value back. `ttlMs` must cover the slowest fill, so it
   * is at least `lock.ttlMs` (@default 2 × lock.ttlMs). Returns false when Redis already holds that
   * version or a newer one. Cache errors propagate.
   */
  async tombstone(key: string, version: number, ttlMs: number = 2 * this.lock.ttlMs): Promise<boolean> {
    if (!Number.isFinite(version)) throw new RangeError(`tombstone version must be a finite number, got ${version}`);
    if (!(ttlMs >= this.lock.ttlMs)) {
      throw new RangeError(`tombstone ttlMs must be at least lock.ttlMs (${this.lock.ttlMs}) so no fill can outlive it, got ${ttlMs}`);
    }
    this.checkKey(key);
    this.forgetLocally([key]);
    if (!this.client) return true;
    const now = this.clock();
    const raw = encodeEnvelope({ v: null, s: now, x: 0, ver: version, t: 1 });
    let reply: unknown;
    try {
      reply = await this.evalDurably('tombstone', TOMBSTONE, [key, this.keys.lock(key)], [raw, Math.ceil(ttlMs), version]);
    } catch (error) {
      this.raiseFloor(key, version);
      throw error;
    }
    // Published even when refused: copies older than `version` elsewhere must go either way.
    await this.publish([{ key, version }]);
    return Number(reply) === FILL_WRITTEN;
  }

  /** Clears this process's L1 (all of it). */
  clearLocal(): void {
    this.generation += 1;
    this.l1?.clear();
    this.inflight.clear();
  }

  /** Resolves when every background refresh started so far has finished (tests, graceful shutdown). */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  stats(): CacheStats {
    const c = this.counters;
    const cached = c.served.l1 + c.served.redis + c.served.stale;
    return {
      reads: c.reads,
      served: { ...c.served },
      l1: { hits: c.l1Hits, misses: c.l1Misses, bytes: this.l1?.sizeBytes ?? 0, entries: this.l1?.entryCount ?? 0 },
      decoded: { bytes: this.decoded?.sizeBytes ?? 0, entries: this.decoded?.entryCount ?? 0 },
      redis: { hits: c.redisHits, misses: c.redisMisses },
      coalesced: c.coalesced,
      originLoads: c.originLoads,
      originErrors: c.originErrors,
      cacheErrors: c.cacheErrors,
      backgroundRefreshes: c.backgroundRefreshes,
      hitRate: c.reads === 0 ? 0 : cached / c.reads,
    };
  }

  private async readThrough<T>(key: string, ttlClass: CacheTtl, load: Loader<T>, options: ReadOptions): Promise<CacheRead<T>> {
    const generation = this.generation;
    const client = this.client;
    if (!client) return this.loadFromOrigin({ key, ttlClass, load, options, mode: 'none', generation });
    let stale: Envelope<T> | undefined;
    let invalidated = false;
    try {
      // When the key's last entry was tagged, its tags' marks come in the same round trip: one MGET
      // after the key on a standalone server (marks from index 1), per-slot MGETs alongside in cluster mode.
      const predicted = this.tagsByKey.get(key);
      let raw: string | null;
      let withMarks: (string | null)[] | undefined;
      if (predicted === undefined) raw = await client.get(key);
      else if (!client.isCluster) [raw] = withMarks = await client.mget(predicted.keyAndMarks);
      else {
        const [value, marks] = await Promise.all([client.get(key), client.mget(predicted.markKeys)]);
        raw = value;
        withMarks = [value, ...marks];
      }
      let entry = this.decode<T>(key, raw);
      this.predictTags(key, predicted, entry);
      if (raw !== null && entry === undefined) this.logger.debug('cache entry not in a known format; treated as a miss', { key });
      const current =
        entry?.g === undefined || (withMarks !== undefined && sameTags(predicted!.tags, entry.g) ? entryCurrent(entry, withMarks, 1) : await this.tagsCurrent(client, entry));
      if (!current) {
        // A tag of the entry was invalidated after its load began (or its mark was lost): it is gone.
        invalidated = true;
        entry = undefined;
      }
      if (entry && this.belowFloor(key, entry)) {
        // A write of this process could not reach Redis (failover): Redis may still hold what it
        // replaced. Read the origin and store its version over the old one.
        this.counters.redisMisses += 1;
        return this.loadFromOrigin({ key, ttlClass, load, options, mode: FillMode.WRITE, generation });
      }
      if (entry && !isTombstone(entry)) {
        const now = this.clock();
        if (now < entry.x) {
          this.redisHit();
          this.remember(key, entry, raw!, generation);
          if (this.dueForEarlyRefresh(entry, now)) this.refreshInBackground(key, ttlClass, load, options, entry);
          return readOf(entry, 'redis');
        }
        if (options.staleWhileRevalidate) {
          this.redisHit();
          this.metrics.count(CacheMetric.STALE_SERVED);
          if (!this.backingOff(key)) this.refreshInBackground(key, ttlClass, load, options, entry);
          return readOf(entry, 'stale');
        }
        if (this.backingOff(key)) {
          this.redisHit();
          this.metrics.count(CacheMetric.STALE_SERVED);
          return readOf(entry, 'stale');
        }
        stale = entry;
      }
      this.counters.redisMisses += 1;
      this.metrics.count(CacheMetric.REDIS_MISS);
    } catch (error) {
      this.cacheFailed('read', key, error);
      return this.loadFromOrigin({ key, ttlClass, load, options, mode: 'none', generation });
    }
    return this.coalesceAcrossProcesses(client, { key, ttlClass, load, options, mode: 'none', stale, generation }, invalidated);
  }

  /** Keeps (or forgets) the tags of `entry`, read for `key`, so the next read fetches their marks with it. */
  private predictTags(key: string, predicted: PredictedTags | undefined, entry: Envelope | undefined): void {
    if (entry?.g === undefined) {
      if (predicted !== undefined) this.tagsByKey.delete(key);
    } else if (predicted === undefined || !sameTags(predicted.tags, entry.g)) {
      const markKeys = entry.g.map((tag) => this.keys.tagMark(tag));
      this.tagsByKey.set(key, { tags: entry.g, markKeys, keyAndMarks: [key, ...markKeys] });
    }
  }

  /** Whether the tagged `entry` is current by its tags' marks, read now. */
  private async tagsCurrent(client: CacheClient, entry: Envelope): Promise<boolean> {
    return entryCurrent(entry, await readMarks(client, this.keys, entry.g!));
  }

  /** One process loads under the lock (`SET NX PX`); the others poll for its fill, or load after `waitMs`. */
  private async coalesceAcrossProcesses<T>(client: CacheClient, plan: LoadPlan<T>, invalidated = false): Promise<CacheRead<T>> {
    const token = randomUUID();
    // Watching before the first ACQUIRE: a fill notice sent while it is answered is not lost.
    const watch = this.bus?.state === BusState.SUBSCRIBED ? this.bus.watchFill(plan.key) : undefined;
    let outcome: WaitOutcome<T>;
    try {
      // An entry just found invalidated by its tags must not come back as "filled": lock past it.
      outcome = await this.tryAcquire<T>(client, plan.key, token, invalidated ? Number.MAX_SAFE_INTEGER : this.clock());
      if (outcome.kind === 'waiting') outcome = await this.waitForHolder<T>(client, plan.key, token, watch, outcome.holder);
    } catch (error) {
      this.cacheFailed('lock', plan.key, error);
      return this.loadFromOrigin(plan);
    } finally {
      watch?.close();
    }
    switch (outcome.kind) {
      case 'filled':
        if (this.belowFloor(plan.key, outcome.entry)) return this.loadFromOrigin({ ...plan, mode: FillMode.WRITE });
        if (outcome.entry.g !== undefined) {
          let current: boolean;
          try {
            current = await this.tagsCurrent(client, outcome.entry);
          } catch (error) {
            this.cacheFailed('marks', plan.key, error);
            return this.loadFromOrigin(plan);
          }
          // Another process's fill of a value already invalidated: load, without filling over it.
          if (!current) return this.loadFromOrigin(plan);
        }
        this.redisHit();
        this.remember(plan.key, outcome.entry, outcome.raw, plan.generation);
        return readOf(outcome.entry, 'redis');
      case 'acquired':
        return this.loadFromOrigin({ ...plan, mode: FillMode.LOCKED, token });
      case 'gave-up':
        this.logger.warn('gave up waiting for another process to load; loading without the lock', { key: plan.key, waitMs: this.lock.waitMs });
        // It fills only while the holder it gave up on still has the lock: see FillMode.UNLOCKED.
        return this.loadFromOrigin({ ...plan, mode: FillMode.UNLOCKED, token: outcome.holder });
      case 'waiting':
      case 'unavailable':
        return this.loadFromOrigin(plan);
    }
  }

  /**
   * Takes the lock unless an entry fresh beyond `freshAfterMs` (default now) is stored meanwhile; one
   * round trip (the ACQUIRE script). An early refresh passes the soft expiry of the entry it saw, so
   * that only a newer fill stops it.
   */
  private async tryAcquire<T>(client: CacheClient, key: string, token: string, freshAfterMs = this.clock()): Promise<WaitOutcome<T>> {
    const reply = await client.eval(ACQUIRE, [key, this.keys.lock(key)], [token, this.lock.ttlMs, freshAfterMs]);
    const [acquired, raw, holder] = reply as [number, string | null, string | null | undefined];
    if (acquired === 1) return { kind: 'acquired' };
    const entry = this.decode<T>(key, raw);
    if (raw && entry && !isTombstone(entry) && entry.x > freshAfterMs) return { kind: 'filled', entry, raw };
    return holder ? { kind: 'waiting', holder } : { kind: 'waiting' };
  }

  /**
   * Polls with growing, jittered intervals until the entry is filled fresh, or the lock is free (then
   * takes it), or `waitMs` has passed; with a bus, the holder's fill notice ends a poll interval at
   * once, so polling is only the fallback. Elapsed time is the larger of the clock and the time
   * slept, so a frozen test clock cannot make it wait forever.
   */
  private async waitForHolder<T>(client: CacheClient, key: string, token: string, watch: FillWatch | undefined, holder: string | undefined): Promise<WaitOutcome<T>> {
    const started = this.clock();
    let slept = 0;
    let lastHolder = holder;
    for (let poll = 0; ; poll++) {
      const remaining = this.lock.waitMs - Math.max(this.clock() - started, slept);
      if (remaining <= 0) return lastHolder === undefined ? { kind: 'gave-up' } : { kind: 'gave-up', holder: lastHolder };
      const interval = this.lock.pollMs * Math.min(1.5 ** poll, MAX_POLL_GROWTH) * (0.5 + this.random());
      const delay = Math.max(1, Math.min(remaining, Math.round(interval)));
      if (watch) await watch.wait(delay);
      else await sleep(delay);
      slept += delay;
      watch?.rearm();
      try {
        const outcome = await this.tryAcquire<T>(client, key, token);
        if (outcome.kind !== 'waiting') return outcome;
        lastHolder = outcome.holder;
      } catch (error) {
        this.cacheFailed('wait', key, error);
        return { kind: 'unavailable' };
      }
    }
  }

  /**
   * The load with its timeouts: past `softTimeoutMs` (with a stale value) or `hardTimeoutMs` the read
   * answers without it, and the load goes on in the background (drained by {@link drain}).
   */
  private async loadFromOrigin<T>(plan: LoadPlan<T>): Promise<CacheRead<T>> {
    const { softTimeoutMs, hardTimeoutMs } = plan.options;
    const soft = plan.stale ? softTimeoutMs : undefined;
    const limitMs = Math.min(soft ?? Infinity, hardTimeoutMs ?? Infinity);
    if (limitMs === Infinity) return this.loadAndFill(plan);
    const work = this.loadAndFill(plan);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limitMs)));
    const first = await Promise.race([work.then((read) => ({ read }), (error: unknown) => ({ error })), timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') {
      if ('error' in first) throw first.error;
      return first.read;
    }
    const { key } = plan;
    const task: Promise<void> = work
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn('origin load abandoned by a timeout failed too', { key, error: errorMessage(error) }),
      )
      .finally(() => this.background.delete(task));
    this.background.add(task);
    const hard = limitMs === hardTimeoutMs;
    if (hard) this.noteOriginFailure(key, plan.options);
    if (plan.stale) {
      this.logger.warn(`origin slower than its ${hard ? 'hard' : 'soft'} timeout; serving the stale value`, { key, timeoutMs: limitMs });
      this.metrics.count(CacheMetric.STALE_SERVED);
      return readOf(plan.stale, 'stale');
    }
    throw new OriginUnavailableError(`the origin did not answer within ${limitMs} ms and nothing is cached`, HARD_TIMEOUT_RETRY_AFTER_SECONDS);
  }

  private async loadAndFill<T>(plan: LoadPlan<T>): Promise<CacheRead<T>> {
    const { key, ttlClass, options } = plan;
    const started = this.clock();
    this.counters.originLoads += 1;
    this.metrics.count(CacheMetric.ORIGIN_LOAD);
    let loaded: Loaded<T>;
    try {
      loaded = await plan.load();
    } catch (error) {
      this.counters.originErrors += 1;
      this.noteOriginFailure(key, options);
      if (plan.mode === FillMode.LOCKED) await this.releaseLock(key, plan.token!);
      if (plan.stale) {
        this.logger.warn('origin failed; serving the stale value (stale-if-error)', { key, error: errorMessage(error) });
        this.metrics.count(CacheMetric.STALE_SERVED);
        return readOf(plan.stale, 'stale');
      }
      throw error;
    }
    const now = this.clock();
    const loadMs = Math.max(0, now - started);
    this.metrics.timing(CacheMetric.ORIGIN_LOAD_LATENCY, loadMs);
    const { entry, ttlMs } = this.buildEntry(loaded, loaded?.ttlSeconds ?? ttlClass, now, loadMs, options);
    const result = readOf(entry, 'origin');
    if (loaded !== null && loaded.cache === false) {
      if (plan.mode === FillMode.LOCKED) await this.releaseLock(key, plan.token!);
      return result;
    }
    let raw: string;
    try {
      raw = encodeEnvelope(entry);
    } catch (error) {
      this.logger.error('loaded value cannot be serialised; not cached', { key, error: errorMessage(error) });
      if (plan.mode === FillMode.LOCKED) await this.releaseLock(key, plan.token!);
      return result;
    }
    if (plan.mode === 'none') {
      this.remember(key, entry, raw, plan.generation);
      return result;
    }
    try {
      const reply = Number(
        await this.client!.eval(FILL, [key, this.keys.lock(key)], [raw, ttlMs, entry.ver ?? '', plan.mode, plan.token ?? '']),
      );
      if (reply === FILL_WRITTEN) {
        this.remember(key, entry, raw, plan.generation);
        if (plan.mode === FillMode.LOCKED) this.notifyFill(key);
      } else {
        this.overtaken.add(result);
        if (reply === FILL_LOCK_LOST) this.logger.debug('fill refused: the lock was lost or invalidated during the load', { key, loadMs });
        else this.logger.debug('fill refused: a newer entry or a tombstone is stored', { key, version: entry.ver });
      }
    } catch (error) {
      this.cacheFailed('fill', key, error);
      this.remember(key, entry, raw, plan.generation);
    }
    return result;
  }

  /** At most one refresh per key per process; across processes the lock lets one of them run. */
  private refreshInBackground<T>(key: string, ttlClass: CacheTtl, load: Loader<T>, options: ReadOptions, seen: Envelope<T>): void {
    const client = this.client;
    if (!client || this.refreshing.has(key)) return;
    this.refreshing.add(key);
    const generation = this.generation;
    const task = (async () => {
      const token = randomUUID();
      if ((await this.tryAcquire(client, key, token, Math.max(this.clock(), seen.x))).kind !== 'acquired') return;
      this.counters.backgroundRefreshes += 1;
      await this.loadFromOrigin({ key, ttlClass, load, options, mode: FillMode.LOCKED, token, generation });
    })()
      .catch((error: unknown) => {
        if (error instanceof CacheUnavailableError) this.cacheFailed('refresh', key, error);
        else this.logger.warn('background refresh failed; the stale value stays until its stale window ends', { key, error: errorMessage(error) });
      })
      .finally(() => {
        this.refreshing.delete(key);
        this.background.delete(task);
      });
    this.background.add(task);
  }

  /** Starts the grace backoff of `key` when the read asked for one. */
  private noteOriginFailure(key: string, options: ReadOptions): void {
    if (!options.graceBackoffMs) return;
    this.backoffUntil.delete(key);
    this.backoffUntil.set(key, this.clock() + options.graceBackoffMs);
    if (this.backoffUntil.size > MAX_BACKOFF_KEYS) this.backoffUntil.delete(this.backoffUntil.keys().next().value!);
  }

  /** True while `key`'s origin failed less than its grace backoff ago. */
  private backingOff(key: string): boolean {
    const until = this.backoffUntil.get(key);
    if (until === undefined) return false;
    if (this.clock() < until) return true;
    this.backoffUntil.delete(key);
    return false;
  }

  private dueForEarlyRefresh(entry: Envelope, now: number): boolean {
    if (this.earlyRefreshBeta === 0 || !entry.d) return false;
    const draw = Math.max(this.random(), Number.MIN_VALUE);
    return now - entry.d * this.earlyRefreshBeta * Math.log(draw) >= entry.x;
  }

  private buildEntry<T>(
    loaded: Loaded<T>,
    ttlClass: CacheTtl,
    now: number,
    loadMs: number,
    options: { staleTtlSeconds?: number },
  ): { entry: Envelope<T>; ttlMs: number } {
    const found = loaded !== null;
    const softMs = withJitter(found ? ttlSecondsOf(this.ttls, ttlClass) : this.ttls[TtlClass.NOT_FOUND], 0.1, this.random) * 1000;
    const staleMs = found ? (options.staleTtlSeconds ?? this.staleTtlSeconds) * 1000 : 0;
    const entry: Envelope<T> = {
      f: ENVELOPE_FORMAT,
      v: found ? loaded.value : null,
      s: now,
      x: now + softMs,
      ...(found && loaded.version !== undefined ? { ver: loaded.version } : {}),
      ...(loadMs > 0 ? { d: loadMs } : {}),
      ...(found && loaded.ttlSeconds !== undefined ? { l: ttlSecondsOf(this.ttls, loaded.ttlSeconds) } : {}),
      ...(found && loaded.tagged !== undefined ? { g: loaded.tagged.tags, e: loaded.tagged.ticket } : {}),
    };
    return { entry, ttlMs: softMs + staleMs };
  }

  /**
   * Keeps `entry` in L1 until its soft expiry at the latest (and for the bus fallback TTL at most
   * while the bus cannot be trusted), unless an invalidation happened since `generation`.
   */
  private remember(key: string, entry: Envelope, raw: string, generation: number): void {
    if (!this.l1 || generation !== this.generation || this.belowFloor(key, entry)) return;
    const ttlMs = entry.x - this.clock();
    this.l1.set(key, entry, raw, this.l1CapMs === undefined ? ttlMs : Math.min(ttlMs, this.l1CapMs));
  }

  /** Tells other processes; a cache error propagates to the invalidating caller, which retries. */
  private async publish(keys: readonly BusKey[]): Promise<void> {
    if (!this.bus || keys.length === 0) return;
    await this.bus.publish({ origin: this.busOrigin, keys, tags: [], filled: [] });
  }

  /** Wakes the processes waiting for this load; best effort (they poll anyway). */
  private notifyFill(key: string): void {
    this.bus?.publish({ origin: this.busOrigin, keys: [], tags: [], filled: [key] }).catch((error: unknown) => this.cacheFailed('notify', key, error));
  }

  private onBusEvent(event: BusEvent): void {
    switch (event.kind) {
      case 'message':
        if (event.message.origin === this.busOrigin) return;
        // This L1 knows no tags: a tag message may name any entry, so all of them go.
        if (event.message.tags.length > 0) this.clearLocal();
        else this.dropOlderLocally(event.message.keys);
        return;
      case 'lost':
        this.l1CapMs = this.busFallbackL1TtlMs;
        this.clearLocal();
        return;
      case 'subscribed':
        // Entries stored while unsubscribed may have missed a message: start from an empty L1.
        this.clearLocal();
        this.l1CapMs = undefined;
        return;
      case 'missed':
        this.clearLocal();
        return;
    }
  }

  /**
   * Drops the L1 copies a message makes stale: unversioned ones, and those older than the version it
   * carries. A copy at that version or newer stays (it is what the write stored, or came after it).
   * Reads in flight do not enter L1 (their value may predate the message).
   */
  private dropOlderLocally(keys: readonly BusKey[]): void {
    this.generation += 1;
    for (const { key, version } of keys) {
      const held = this.l1?.get(key);
      if (held && version !== undefined && held.ver !== undefined && held.ver >= version) continue;
      this.l1?.delete(key);
      this.inflight.delete(key);
    }
  }

  /**
   * After a write of `version` failed to reach Redis (a tombstone or write-through during a
   * failover, when the outcome is unknown), this process refuses older versions of `key` from Redis
   * and keeps none in L1 for `versionFloorMs`: the writer reads its own write even while
   * Redis still holds the value it replaced, until the purge pipeline's retry removes it.
   */
  private raiseFloor(key: string, version: number): void {
    if (this.versionFloorMs === 0) return;
    const now = this.clock();
    for (const [held, floor] of this.floors) if (floor.untilMs <= now) this.floors.delete(held);
    const current = this.floors.get(key);
    if (current && current.version >= version && current.untilMs > now) return;
    this.floors.set(key, { version, untilMs: now + this.versionFloorMs });
  }

  /**
   * Runs a write script; with `replicaAcks`, together with its `WAIT` (one pipeline, one connection:
   * CacheClient.evalAndWait), and throws unless enough replicas acknowledged it (see the option).
   */
  private async evalDurably(what: string, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    const client = this.client!;
    if (!this.replicaAcks) return client.eval(script, keys, args);
    const { replicas, timeoutMs } = this.replicaAcks;
    const { reply, acked } = await client.evalAndWait(script, keys, args, replicas, timeoutMs);
    if (acked < replicas) throw new CacheUnavailableError(`${what} of ${keys[0]} reached ${acked} of ${replicas} replica(s) within ${timeoutMs} ms; a failover could lose it`);
    return reply;
  }

  private belowFloor(key: string, entry: Envelope): boolean {
    if (this.floors.size === 0) return false;
    const floor = this.floors.get(key);
    if (!floor) return false;
    if (floor.untilMs <= this.clock()) {
      this.floors.delete(key);
      return false;
    }
    return entry.ver === undefined || entry.ver < floor.version;
  }

  /** The envelope Redis returned for `key`, reusing the last decode of the same bytes. */
  private decode<T>(key: string, raw: string | null): Envelope<T> | undefined {
    return this.decoded ? this.decoded.decode<T>(key, raw) : decodeEnvelope<T>(raw);
  }

  private forgetLocally(keys: readonly string[]): void {
    this.generation += 1;
    for (const key of keys) {
      this.l1?.delete(key);
      this.decoded?.delete(key);
      this.inflight.delete(key);
    }
  }

  private async releaseLock(key: string, token: string): Promise<void> {
    try {
      await this.client!.eval(RELEASE_LOCK, [this.keys.lock(key)], [token]);
    } catch (error) {
      this.cacheFailed('unlock', key, error);
    }
  }

  /**
   * In cluster mode an entry and its lock must share a slot (the scripts touch both), which only a
   * hash-tagged key (`CacheKeys` with `clusterMode`) guarantees; anything else is a programming error.
   */
  private checkKey(key: string): void {
    if (this.keys.clusterMode && hashTagOf(key) === key) {
      throw new RangeError(`cache key ${JSON.stringify(key)} has no hash tag; in cluster mode build keys with CacheKeys({ clusterMode: true })`);
    }
  }

  private redisHit(): void {
    this.counters.redisHits += 1;
    this.metrics.count(CacheMetric.REDIS_HIT);
  }

  private cacheFailed(operation: string, key: string, error: unknown): void {
    this.counters.cacheErrors += 1;
    this.metrics.count(CacheMetric.CACHE_ERROR);
    this.logger.debug('cache unavailable; continuing without it', { operation, key, error: errorMessage(error) });
  }

  private served<T>(read: CacheRead<T>): CacheRead<T> {
    this.counters.served[read.source] += 1;
    return read;
  }
}

function readOf<T>(entry: Envelope<T>, source: CacheSource): CacheRead<T> {
  const read: CacheRead<T> = entry.ver === undefined ? { value: entry.v, source, storedAtMs: entry.s } : { value: entry.v, source, storedAtMs: entry.s, version: entry.ver };
  return entry.l === undefined ? read : { ...read, ttlSeconds: entry.l };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((tag, i) => tag === b[i]));
}

function checkLoaderOptions(options: ReadOptions): void {
  for (const name of ['softTimeoutMs', 'hardTimeoutMs', 'graceBackoffMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
}

function checkStaleTtl(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`staleTtlSeconds must be a non-negative number, got ${seconds}`);
  return seconds;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
