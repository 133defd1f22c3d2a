/**
 * The few Redis operations the cache core needs, each bounded by the command timeout and routed
 * through a circuit breaker (one per shard in cluster mode, so one dead shard does not switch off the
 * others). Every failure surfaces as `CacheUnavailableError`; callers treat it as "no cache".
 */
import { createHash } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';
import { CacheUnavailableError } from '../errors';
import { CircuitBreaker, CircuitBreakerOptions, CircuitState } from './circuit-breaker';
import { Deadlines } from './deadlines';
import { hashSlot } from './hash-slot';
import { CacheLogger, noopCacheLogger } from './metrics';
import { CacheClientConfig, createRedis, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, normalise } from './redis-client';

/** A Lua script run with EVALSHA, falling back to EVAL when the server has not cached it yet. */
export interface LuaScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly source: string;
  readonly sha1: string;
}

export function luaScript(name: string, numberOfKeys: number, source: string): LuaScript {
  return { name, numberOfKeys, source, sha1: createHash('sha1').update(source).digest('hex') };
}

export interface CacheClientOptions {
  /** Bound on every operation (including waiting for a redirect or a reconnect). @default 50 */
  readonly commandTimeoutMs?: number;
  /** How long the first operations wait for the very first connection. @default 100 */
  readonly connectTimeoutMs?: number;
  /** @default - see DEFAULT_CIRCUIT_BREAKER */
  readonly circuitBreaker?: CircuitBreakerOptions;
  /** Milliseconds, for the circuit breakers' cool-down. @default Date.now */
  readonly clock?: () => number;
  /** Connection errors and circuit transitions are logged here. @default - not logged */
  readonly logger?: CacheLogger;
}

/** Reply errors that mean the server cannot serve right now (as opposed to a bad command). */
const UNAVAILABLE_REPLIES = ['CLUSTERDOWN', 'LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN', 'READONLY'];
const CONNECTING = new Set(['wait', 'connecting', 'connect']);
const ERROR_LOG_INTERVAL_MS = 10_000;
const STANDALONE_SHARD = 'primary';
const UNLINK_BATCH = 500;
/** Redirections (`MOVED`, `ASK`) one `evalAndWait` follows, as the cluster client's `maxRedirections`. */
const MAX_REDIRECTIONS = 6;

export class CacheClient {
  /** Creates the ioredis client for `config` (connection starts at once) and wraps it. */
  static connect(config: CacheClientConfig, options: Omit<CacheClientOptions, 'commandTimeoutMs' | 'connectTimeoutMs' | 'circuitBreaker'> = {}): CacheClient {
    const resolved = normalise(config);
    // No per-command ioredis timer: this client bounds every command itself (runOn, deadlines.ts).
    return new CacheClient(createRedis(config, { commandTimeoutBackstop: false }), {
      ...options,
      commandTimeoutMs: resolved.commandTimeoutMs,
      connectTimeoutMs: resolved.connectTimeoutMs,
      circuitBreaker: config.circuitBreaker,
    });
  }

  readonly redis: Redis | Cluster;
  readonly isCluster: boolean;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** The command timeouts of this client (one timer for all pending commands). */
  private readonly deadlines = new Deadlines();
  private readonly breakerOptions?: CircuitBreakerOptions;
  private readonly clock: () => number;
  private readonly logger: CacheLogger;
  private everReady: boolean;
  private lastErrorLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(redis: Redis | Cluster, options: CacheClientOptions = {}) {
    this.redis = redis;
    this.isCluster = redis instanceof Cluster;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.breakerOptions = options.circuitBreaker;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? noopCacheLogger;
    this.everReady = redis.status === 'ready';
    redis.once('ready', () => {
      this.everReady = true;
    });
    // Without a listener ioredis prints every connection error; log them, at most one per interval.
    redis.on('error', (error: Error) => {
      const now = Date.now();
      if (now - this.lastErrorLoggedAt < ERROR_LOG_INTERVAL_MS) return;
      this.lastErrorLoggedAt = now;
      this.logger.warn('cache connection error', { error: error.message });
    });
  }

  /**
   * Resolves true once connected — in cluster mode once every master has answered a PING, so that no
   * first request pays a node's connect — or false after `timeoutMs`. Reads before that simply go to
   * the origin.
   */
  async ready(timeoutMs = this.connectTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (this.redis.status !== 'ready') {
      const connected = await new Promise<boolean>((resolve) => {
        const onReady = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          this.redis.off('ready', onReady);
          resolve(false);
        }, timeoutMs);
        this.redis.once('ready', onReady);
      });
      if (!connected) return false;
    }
    if (!(this.redis instanceof Cluster)) return true;
    const pings = Promise.all(this.redis.nodes('master').map((node) => node.ping()));
    try {
      await this.bounded(pings, Math.max(1, deadline - Date.now()), 'PING');
      return true;
    } catch {
      return false;
    }
  }

  /** The state of each circuit breaker, by shard (`primary`, or `host:port` of each cluster master). */
  circuitStates(): Record<string, CircuitState> {
    return Object.fromEntries([...this.breakers].map(([shard, breaker]) => [shard, breaker.state]));
  }

  // get and mget are not `async`: returning runOn's promise as it is saves the microtask hops an
  // async function's adoption of a returned promise costs, on every command of a cache hit.
  get(key: string): Promise<string | null> {
    return this.run(key, 'GET', () => this.redis.get(key));
  }

  /** MGET: the values of `keys`, in order (`null` for a missing key); in cluster mode one MGET per hash slot, in parallel. */
  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    if (!this.isCluster) return this.run(keys[0], 'MGET', () => this.redis.mget(...keys));
    return this.mgetPerSlot(keys);
  }

  private async mgetPerSlot(keys: readonly string[]): Promise<(string | null)[]> {
    const groups = new Map<number, number[]>();
    for (const [i, key] of keys.entries()) {
      const slot = hashSlot(key);
      const list = groups.get(slot) ?? [];
      list.push(i);
      groups.set(slot, list);
    }
    const values: (string | null)[] = new Array<string | null>(keys.length).fill(null);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const replies = await this.run(keys[indexes[0]], 'MGET', () => this.redis.mget(...indexes.map((i) => keys[i])));
        for (const [n, i] of indexes.entries()) values[i] = replies[n];
      }),
    );
    return values;
  }

  /** SET with a TTL; with `onlyIfAbsent` (NX) returns false when the key already existed. */
  async set(key: string, value: string, ttlMs: number, options: { onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    const ttl = wholeMilliseconds(ttlMs);
    const reply = await this.run(key, 'SET', () =>
      options.onlyIfAbsent ? this.redis.set(key, value, 'PX', ttl, 'NX') : this.redis.set(key, value, 'PX', ttl),
    );
    return reply === 'OK';
  }

  /** UNLINK (non-blocking delete); in cluster mode one command per hash slot. Returns how many existed. */
  async unlink(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const groups = new Map<number | string, string[]>();
    for (const key of new Set(keys)) {
      const group = this.isCluster ? hashSlot(key) : STANDALONE_SHARD;
      const list = groups.get(group) ?? [];
      list.push(key);
      groups.set(group, list);
    }
    const batches: string[][] = [];
    for (const list of groups.values()) {
      for (let i = 0; i < list.length; i += UNLINK_BATCH) batches.push(list.slice(i, i + UNLINK_BATCH));
    }
    const counts = await Promise.all(batches.map((batch) => this.run(batch[0], 'UNLINK', () => this.redis.unlink(...batch))));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Adds members to a set and makes sure it lives at least `ttlMs` (no key is left without a TTL). */
  async sadd(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    if (members.length === 0) return 0;
    const added = await this.eval(SADD_WITH_TTL, [key], [wholeMilliseconds(ttlMs), ...members]);
    return Number(added);
  }

  async smembers(key: string): Promise<string[]> {
    return this.run(key, 'SMEMBERS', () => this.redis.smembers(key));
  }

  async srem(key: string, members: readonly string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.run(key, 'SREM', () => this.redis.srem(key, ...members));
  }

  /**
   * Publishes `message` on `channel`: PUBLISH on a standalone server, SPUBLISH (sharded pub/sub, served
   * by the master of the channel's slot only) in cluster mode. Returns how many subscribers received it.
   */
  async publish(channel: string, message: string): Promise<number> {
    return this.run(channel, this.isCluster ? 'SPUBLISH' : 'PUBLISH', () =>
      this.redis instanceof Cluster ? this.redis.spublish(channel, message).then(Number) : this.redis.publish(channel, message),
    );
  }

  /** Runs `script` (EVALSHA, EVAL on NOSCRIPT). In cluster mode every key must share one slot. */
  async eval(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (keys.length !== script.numberOfKeys) {
      throw new Error(`script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    return this.run(keys[0], `EVAL ${script.name}`, async () => {
      try {
        return await this.redis.evalsha(script.sha1, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return this.redis.eval(script.source, keys.length, ...keys, ...args);
      }
    });
  }

  /**
   * `WAIT replicas timeoutMs` on the connection that wrote `key` (the master of its slot in cluster
   * mode; WAIT counts the replicas that acknowledged every earlier write of that connection). Returns
   * how many replicas acknowledged; fewer than `replicas` means the write may be lost if that master
   * fails before it replicates. Bounded by `timeoutMs` plus the command timeout. It speaks only for
   * writes this connection sent to that master: to make one write durable, use {@link evalAndWait}.
   */
  async waitForReplicas(key: string, replicas: number, timeoutMs: number): Promise<number> {
    const node = this.connectionOf(key);
    if (!node) throw new CacheUnavailableError(`cache WAIT failed: no connection serves the slot of ${key}`);
    return this.runOn(this.shardOf(key), 'WAIT', () => node.wait(replicas, Math.ceil(timeoutMs)), timeoutMs);
  }

  /**
   * Runs `script` and `WAIT replicas timeoutMs` in one pipeline on one connection: the connection of
   * the node that runs the script (in cluster mode the master of the keys' slot, following `MOVED` and
   * `ASK` to the node named). `WAIT` counts the replicas that acknowledged every earlier write of its
   * own connection, so only a `WAIT` right behind the write, on the connection that carried it, speaks
   * for that write; sent apart ({@link waitForReplicas} after {@link eval}), a failover in between can
   * route the `WAIT` to another master, whose connection wrote nothing and which answers with its
   * replica count at once, for a write the dead master never replicated. Returns the script's reply
   * and how many replicas acknowledged. Bounded by `timeoutMs` plus the command timeout.
   */
  async evalAndWait(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    replicas: number,
    timeoutMs: number,
  ): Promise<{ reply: unknown; acked: number }> {
    if (keys.length !== script.numberOfKeys) {
      throw new Error(`script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    const wait = Math.ceil(timeoutMs);
    return this.runOn(this.shardOf(keys[0]), `EVAL ${script.name} + WAIT`, async () => {
      let node = this.connectionOf(keys[0]);
      let asking = false;
      let source = false;
      for (let redirects = 0; redirects <= MAX_REDIRECTIONS; redirects++) {
        if (!node) {
          if (this.redis instanceof Cluster) this.redis.refreshSlotsCache();
          throw new CacheUnavailableError(`no connection serves the slot of ${keys[0]}`);
        }
        const pipeline = node.pipeline();
        if (asking) pipeline.call('ASKING');
        if (source) pipeline.eval(script.source, keys.length, ...keys, ...args);
        else pipeline.evalsha(script.sha1, keys.length, ...keys, ...args);
        pipeline.wait(replicas, wait);
        const replies = (await pipeline.exec()) ?? [];
        const [[error, reply], [waitError, acked]] = replies.slice(asking ? 1 : 0);
        if (!error) {
          if (waitError) throw waitError;
          return { reply, acked: Number(acked) };
        }
        // The script did not run on this node: nothing was written, so the WAIT's answer means nothing.
        const [kind, , target] = error.message.split(' ');
        if (kind === 'NOSCRIPT' && !source) {
          source = true;
        } else if ((kind === 'MOVED' || kind === 'ASK') && this.redis instanceof Cluster) {
          if (kind === 'MOVED') this.redis.refreshSlotsCache();
          node = this.redis.nodes('all').find((n) => `${n.options.host}:${n.options.port}` === target);
          asking = kind === 'ASK';
        } else {
          throw error;
        }
      }
      throw new CacheUnavailableError(`too many redirections for ${keys[0]}`);
    }, wait);
  }

  /**
   * Every key matching `pattern`, in batches, from every master (SCAN, never KEYS). Each SCAN step is
   * bounded by the command timeout like any other operation.
   */
  async *scan(pattern: string, count = 500): AsyncGenerator<string[]> {
    const nodes: Redis[] = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    for (const node of nodes) {
      const shard = this.isCluster ? `${node.options.host}:${node.options.port}` : STANDALONE_SHARD;
      let cursor = '0';
      do {
        const [next, keys] = await this.runOn(shard, 'SCAN', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', count));
        cursor = next;
        if (keys.length > 0) yield keys;
      } while (cursor !== '0');
    }
  }

  /** Closes the connection(s), waiting for replies in flight; forces it if the server does not answer. */
  async quit(): Promise<void> {
    try {
      await this.bounded(this.redis.quit(), this.connectTimeoutMs + this.commandTimeoutMs, 'QUIT');
    } catch {
      this.redis.disconnect();
    }
  }

  /** `promise`, or a CacheUnavailableError once `ms` have passed: on this client's deadlines, like every command. */
  private bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = this.deadlines.track(ms, () => reject(new CacheUnavailableError(`cache ${what} timed out after ${ms} ms`)));
      promise.then(
        (value) => this.deadlines.settle(entry) && resolve(value),
        (error: unknown) => this.deadlines.settle(entry) && reject(error),
      );
    });
  }

  private run<T>(key: string, what: string, operation: () => Promise<T>): Promise<T> {
    return this.runOn(this.shardOf(key), what, operation);
  }

  /**
   * Runs `operation` through the shard's circuit breaker, bounded by the command timeout; every
   * failure becomes a `CacheUnavailableError`. Written without `async` layers: this wraps every
   * command of a cache hit (bench/hit-path).
   */
  private runOn<T>(shard: string, what: string, operation: () => Promise<T>, extraTimeoutMs = 0, waitedForReady = false): Promise<T> {
    // The first commands wait (once, up to the connect timeout) for the very first connection.
    if (!waitedForReady && !this.everReady && CONNECTING.has(this.redis.status)) {
      return this.ready(this.connectTimeoutMs).then(() => this.runOn(shard, what, operation, extraTimeoutMs, true));
    }
    const breaker = this.breakerFor(shard);
    let probe: boolean;
    let reply: Promise<T>;
    try {
      probe = breaker.admit();
    } catch (error) {
      return Promise.reject(unavailable(what, error));
    }
    try {
      reply = operation();
    } catch (error) {
      reply = Promise.reject(error);
    }
    const ms = this.commandTimeoutMs + extraTimeoutMs;
    // One promise settles the command: its reply or error, or its deadline, whichever comes first.
    return new Promise<T>((resolve, reject) => {
      const entry = this.deadlines.track(ms, () => {
        breaker.settle(probe, true);
        reject(new CacheUnavailableError(`cache ${what} timed out after ${ms} ms`));
      });
      reply.then(
        (value) => {
          if (!this.deadlines.settle(entry)) return;
          breaker.settle(probe, false);
          resolve(value);
        },
        (error: unknown) => {
          if (!this.deadlines.settle(entry)) return;
          breaker.settle(probe, isUnavailable(error));
          reject(unavailable(what, error));
        },
      );
    });
  }

  /** The connection commands on `key` go through (the slot's master in cluster mode). */
  private connectionOf(key: string): Redis | undefined {
    if (!(this.redis instanceof Cluster)) return this.redis;
    const name = this.redis.slots[hashSlot(key)]?.[0];
    return this.redis.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === name);
  }

  private shardOf(key: string): string {
    if (!(this.redis instanceof Cluster)) return STANDALONE_SHARD;
    return this.redis.slots[hashSlot(key)]?.[0] ?? 'unmapped';
  }

  private breakerFor(shard: string): CircuitBreaker {
    let breaker = this.breakers.get(shard);
    if (!breaker) {
      breaker = new CircuitBreaker(this.breakerOptions, {
        clock: this.clock,
        onStateChange: (from, to) => {
          const log = to === CircuitState.OPEN ? this.logger.warn : this.logger.info;
          log.call(this.logger, 'cache circuit breaker changed state', { shard, from, to });
        },
      });
      this.breakers.set(shard, breaker);
    }
    return breaker;
  }
}

/** Keeps the longer of the set's current TTL and `ttlMs`, so adding never shortens a tag set's life. */
const SADD_WITH_TTL = luaScript(
  'sadd_with_ttl',
  1,
  `local added = redis.call('SADD', KEYS[1], unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return added`,
);

/** `error` as the CacheUnavailableError every cache operation fails with. */
function unavailable(what: string, error: unknown): CacheUnavailableError {
  if (error instanceof CacheUnavailableError) return error;
  return new CacheUnavailableError(`cache ${what} failed: ${(error as Error).message}`, { cause: error });
}

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error.name !== 'ReplyError') return true;
  return UNAVAILABLE_REPLIES.some((prefix) => error.message.startsWith(prefix));
}

function wholeMilliseconds(ttlMs: number): number {
  const ttl = Math.ceil(ttlMs);
  if (!Number.isFinite(ttl) || ttl < 1) throw new RangeError(`cache TTL must be a positive number of milliseconds, got ${ttlMs}`);
  return ttl;
}

