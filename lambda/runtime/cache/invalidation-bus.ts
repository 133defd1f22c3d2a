/**
 * The L1 invalidation bus: when one process invalidates or rewrites a key, every other process drops
 * its in-process (L1) copy within milliseconds instead of keeping it until its L1 TTL ends.
 *
 * Transport: Redis pub/sub on one channel per namespace — `PUBLISH`/`SUBSCRIBE` on a standalone
 * server, sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, served by the master of the channel's slot only)
 * in cluster mode. Each process holds one subscriber connection of its own, opened and reopened by
 * the bus (a subscribed connection cannot run other commands); messages are published through the
 * ordinary `CacheClient`, bounded by its timeout and circuit breaker. RESP3 client tracking would
 * need no extra connection, but ioredis speaks RESP2 only, and tracking reports keys, not versions.
 *
 * What the bus promises its listeners (the read-through cache):
 * - `message`: keys with the version a write committed (or none), tags, and fill notices, in the
 *   order Redis received them.
 * - `lost`: the subscription is gone, or may be (connection closed, a heartbeat or sync `PING`
 *   unanswered, the slot moved): messages may be missed from now on, so L1 must not be trusted.
 * - `subscribed`: the subscription is (again) in place; messages sent before it may have been missed.
 * - `missed`: a message could not be read (another format, corrupt): whatever it said is unknown.
 *
 * Pub/sub is at most once; what it guarantees is order on one connection. So `sync()` sends a `PING`
 * on the subscriber connection: its reply comes after every message published before the `PING`
 * reached Redis, so when `sync()` resolves true, every such message has been handled. A Lambda
 * sandbox is frozen between invocations and cannot listen; syncing at the start of an invocation
 * makes it process what arrived while it was frozen before L1 is read (see docs/runtime.md).
 */
import { randomUUID } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';
import type { CacheKeys } from '../keys';
import type { CacheClient } from './cache-client';
import { hashSlot } from './hash-slot';
import { CacheLogger, noopCacheLogger } from './metrics';
import { reconnectDelayMs } from './redis-client';

/** Where the subscription stands. L1 is trusted only while `SUBSCRIBED`. */
export enum BusState {
  CONNECTING = 'connecting',
  SUBSCRIBED = 'subscribed',
  LOST = 'lost',
  CLOSED = 'closed',
}

/** One invalidated key and, when a write committed one, its version. */
export interface BusKey {
  readonly key: string;
  /** Copies holding this version or a newer one are kept; older or unversioned copies are dropped. */
  readonly version?: number;
}

export interface BusMessage {
  /** Who sent it (a cache instance id); a cache ignores its own invalidations, which it applied already. */
  readonly origin: string;
  readonly keys: readonly BusKey[];
  readonly tags: readonly string[];
  /** Keys just filled under the coalescing lock: processes waiting for that load read them at once. */
  readonly filled: readonly string[];
}

export type BusEvent =
  | { readonly kind: 'message'; readonly message: BusMessage }
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'subscribed' }
  | { readonly kind: 'missed' };

export type BusListener = (event: BusEvent) => void;

export interface InvalidationBusOptions {
  /** The pub/sub channel; every process of one application must use the same. @default `<keys prefix>bus` via ReadThroughCache users */
  readonly channel: string;
  /**
   * Interval of the heartbeat `PING` on the subscriber connection, which finds a silently dead
   * connection; 0 turns it off (Lambda, where `sync()` runs at each invocation instead). @default 1000
   */
  readonly heartbeatMs?: number;
  /** How long a `SUBSCRIBE` or `PING` reply may take before the subscription counts as lost. @default 1000 */
  readonly replyTimeoutMs?: number;
  readonly logger?: CacheLogger;
}

export const DEFAULT_BUS_HEARTBEAT_MS = 1_000;
export const DEFAULT_BUS_REPLY_TIMEOUT_MS = 1_000;
/** Wire format version; a message of another version is `missed`. */
const WIRE_FORMAT = 1;

export class InvalidationBus {
  /** Opens the subscriber connection next to `client`'s (same server or cluster, same credentials). */
  static connect(client: CacheClient, options: InvalidationBusOptions): InvalidationBus {
    const bus = new InvalidationBus(client, options);
    bus.open();
    return bus;
  }

  readonly channel: string;
  readonly heartbeatMs: number;
  readonly replyTimeoutMs: number;
  private readonly client: CacheClient;
  private readonly logger: CacheLogger;
  private readonly listeners = new Set<BusListener>();
  private readonly fillWatches = new Map<string, Set<FillWatch>>();
  private subscriber?: Redis;
  private heartbeat?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private attempt = 0;
  private current: BusState = BusState.CONNECTING;
  private subscribedWaiters: (() => void)[] = [];

  private constructor(client: CacheClient, options: InvalidationBusOptions) {
    if (!options.channel) throw new Error('invalidation bus channel must not be empty');
    this.client = client;
    this.channel = options.channel;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_BUS_HEARTBEAT_MS;
    this.replyTimeoutMs = options.replyTimeoutMs ?? DEFAULT_BUS_REPLY_TIMEOUT_MS;
    if (!(this.heartbeatMs >= 0)) throw new RangeError(`bus heartbeatMs must be ≥ 0, got ${options.heartbeatMs}`);
    if (!(this.replyTimeoutMs > 0)) throw new RangeError(`bus replyTimeoutMs must be > 0, got ${options.replyTimeoutMs}`);
    this.logger = options.logger ?? noopCacheLogger;
  }

  get state(): BusState {
    return this.current;
  }

  /** The channel every process of the application whose keys are `keys` uses: `<prefix>bus`. */
  static channelFor(keys: Pick<CacheKeys, 'prefix'>): string {
    return `${keys.prefix}bus`;
  }

  /** A new id for one publisher (each cache instance has its own, to recognise its own messages). */
  static newOrigin(): string {
    return randomUUID();
  }

  /** Registers `listener`; returns the function that removes it. */
  listen(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves true once subscribed, false after `timeoutMs` (tests, a cold start that wants L1 at once). */
  async subscribed(timeoutMs: number): Promise<boolean> {
    if (this.current === BusState.SUBSCRIBED) return true;
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.subscribedWaiters = this.subscribedWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.subscribedWaiters.push(done);
    });
  }

  /**
   * Publishes an invalidation. Resolves once Redis has taken it; a cache error propagates, so the
   * caller (which retries invalidations) knows other processes may keep their copy until its L1 TTL.
   */
  async publish(message: BusMessage): Promise<void> {
    if (message.keys.length + message.tags.length + message.filled.length === 0) return;
    await this.client.publish(this.channel, encodeBusMessage(message));
  }

  /**
   * One round trip on the subscriber connection: when it resolves true, every message published
   * before it reached Redis has been handled. False when not subscribed (then L1 is not trusted
   * anyway), or when the `PING` fails, which also marks the subscription lost.
   */
  async sync(): Promise<boolean> {
    const subscriber = this.subscriber;
    if (this.current !== BusState.SUBSCRIBED || !subscriber) return false;
    return this.ping(subscriber);
  }

  /**
   * Starts watching for a fill notice of `key`. Create it BEFORE asking Redis whether the key is
   * filled, so that a notice arriving between that answer and the wait is not lost.
   */
  watchFill(key: string): FillWatch {
    const watch = new FillWatch(() => {
      const set = this.fillWatches.get(key);
      set?.delete(watch);
      if (set?.size === 0) this.fillWatches.delete(key);
    });
    const set = this.fillWatches.get(key) ?? new Set<FillWatch>();
    set.add(watch);
    this.fillWatches.set(key, set);
    return watch;
  }

  /** Closes the subscriber connection; listeners hear `lost` (L1 is no longer kept coherent). */
  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.stopHeartbeat();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.setState(BusState.CLOSED, 'closed');
    if (subscriber) {
      try {
        await withTimeout(subscriber.quit(), this.replyTimeoutMs);
      } catch {
        subscriber.disconnect();
      }
    }
  }

  private open(): void {
    if (this.current === BusState.CLOSED) return;
    const subscriber = this.createSubscriber();
    if (!subscriber) {
      this.scheduleReconnect();
      return;
    }
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => this.logger.debug('invalidation bus connection error', { error: error.message }));
    subscriber.on(this.client.isCluster ? 'smessage' : 'message', (channel: string, payload: string) => {
      if (channel === this.channel && this.subscriber === subscriber) this.deliver(payload);
    });
    // ioredis reports a MOVED reply to SSUBSCRIBE this way: the slot lives elsewhere now.
    subscriber.on('moved', () => this.drop(subscriber, 'the channel slot moved'));
    subscriber.once('ready', () => void this.subscribeOn(subscriber));
    subscriber.once('end', () => {
      if (this.subscriber !== subscriber) return;
      this.subscriber = undefined;
      this.stopHeartbeat();
      this.setState(BusState.LOST, 'subscriber connection closed');
      this.scheduleReconnect();
    });
  }

  /**
   * A connection of its own, which the bus reconnects itself (to re-resolve the channel's master in
   * cluster mode after a failover or a reshard). Null when the cluster has no slot map yet.
   */
  private createSubscriber(): Redis | null {
    const redis = this.client.redis;
    const own = { retryStrategy: () => null, enableOfflineQueue: false, autoResubscribe: false, lazyConnect: false };
    if (!(redis instanceof Cluster)) return redis.duplicate(own);
    const address = redis.slots[hashSlot(this.channel)]?.[0];
    if (!address) return null;
    const separator = address.lastIndexOf(':');
    return new Redis({ ...redis.options.redisOptions, ...own, host: address.slice(0, separator), port: Number(address.slice(separator + 1)) });
  }

  private async subscribeOn(subscriber: Redis): Promise<void> {
    try {
      const command = this.client.isCluster ? subscriber.ssubscribe(this.channel) : subscriber.subscribe(this.channel);
      await withTimeout(command, this.replyTimeoutMs);
    } catch (error) {
      this.drop(subscriber, `subscribe failed: ${(error as Error).message}`);
      return;
    }
    if (this.subscriber !== subscriber) return;
    this.attempt = 0;
    this.setState(BusState.SUBSCRIBED);
    this.startHeartbeat(subscriber);
  }

  /** PING in subscribed mode answers `['pong', '']`; a plain `PONG` means the server unsubscribed us. */
  private async ping(subscriber: Redis): Promise<boolean> {
    try {
      const reply: unknown = await withTimeout(subscriber.ping(), this.replyTimeoutMs);
      if (Array.isArray(reply)) return this.subscriber === subscriber && this.current === BusState.SUBSCRIBED;
      this.drop(subscriber, 'the server ended the subscription');
    } catch (error) {
      this.drop(subscriber, `PING on the subscriber connection failed: ${(error as Error).message}`);
    }
    return false;
  }

  /** Marks the subscription lost and closes the connection; its `end` schedules the reconnect. */
  private drop(subscriber: Redis, reason: string): void {
    if (this.subscriber === subscriber) this.setState(BusState.LOST, reason);
    subscriber.disconnect();
  }

  private scheduleReconnect(): void {
    if (this.current === BusState.CLOSED || this.reconnectTimer) return;
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, reconnectDelayMs(this.attempt));
    this.reconnectTimer.unref();
  }

  private startHeartbeat(subscriber: Redis): void {
    this.stopHeartbeat();
    if (this.heartbeatMs === 0) return;
    this.heartbeat = setInterval(() => void this.ping(subscriber), this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private deliver(payload: string): void {
    const message = decodeBusMessage(payload);
    if (!message) {
      this.logger.warn('invalidation bus message not in a known format; dropping every L1 copy', { channel: this.channel });
      this.emit({ kind: 'missed' });
      return;
    }
    for (const key of message.filled) {
      for (const watch of this.fillWatches.get(key) ?? []) watch.notify();
    }
    if (message.keys.length + message.tags.length > 0) this.emit({ kind: 'message', message });
  }

  private setState(state: BusState, reason = ''): void {
    const previous = this.current;
    if (previous === state || previous === BusState.CLOSED) return;
    this.current = state;
    if (state === BusState.SUBSCRIBED) {
      this.logger.info('invalidation bus subscribed', { channel: this.channel });
      this.emit({ kind: 'subscribed' });
      const waiters = this.subscribedWaiters;
      this.subscribedWaiters = [];
      waiters.forEach((w) => w());
      return;
    }
    if (previous === BusState.SUBSCRIBED) this.logger.warn('invalidation bus subscription lost; L1 falls back to short TTLs', { channel: this.channel, reason });
    // Waiters told by the bus would wait for a notice that cannot come: wake them to poll.
    for (const set of this.fillWatches.values()) for (const watch of set) watch.notify();
    if (previous === BusState.SUBSCRIBED || state === BusState.CLOSED) this.emit({ kind: 'lost', reason });
  }

  private emit(event: BusEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error('invalidation bus listener failed', { error: (error as Error).message });
      }
    }
  }
}

/**
 * A latch for one key's fill notice: `wait(ms)` resolves at the notice or after `ms`, whichever is
 * first; a notice that arrived since the last `rearm()` resolves it at once.
 */
export class FillWatch {
  private notified = false;
  private wake?: () => void;

  constructor(private readonly onClose: () => void) {}

  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Forget earlier notices; call just before asking Redis again. */
  rearm(): void {
    this.notified = false;
  }

  /** True when woken by a notice, false after `ms`. */
  wait(ms: number): Promise<boolean> {
    if (this.notified) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(true);
      };
    });
  }

  close(): void {
    this.wake?.();
    this.onClose();
  }
}

/** `{"f":1,"o":origin,"k":[[key,version?],…],"g":[tags],"n":[filled]}`, empty lists left out. */
export function encodeBusMessage(message: BusMessage): string {
  const wire: Record<string, unknown> = { f: WIRE_FORMAT, o: message.origin };
  if (message.keys.length > 0) wire.k = message.keys.map((k) => (k.version === undefined ? [k.key] : [k.key, k.version]));
  if (message.tags.length > 0) wire.g = message.tags;
  if (message.filled.length > 0) wire.n = message.filled;
  return JSON.stringify(wire);
}

/** The message in `payload`, or undefined when it is not one of this format (never throws). */
export function decodeBusMessage(payload: string): BusMessage | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  const { f, o, k = [], g = [], n = [] } = wire as Record<string, unknown>;
  if (f !== WIRE_FORMAT || typeof o !== 'string' || !Array.isArray(k) || !isStringList(g) || !isStringList(n)) return undefined;
  const keys: BusKey[] = [];
  for (const item of k as unknown[]) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') return undefined;
    if (item.length === 1) keys.push({ key: item[0] });
    else if (item.length === 2 && typeof item[1] === 'number' && Number.isFinite(item[1])) keys.push({ key: item[0], version: item[1] });
    else return undefined;
  }
  return { origin: o, keys, tags: g, filled: n };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** `promise`, or a rejection (`no reply within <ms> ms`) once `ms` have passed; the timer is cleared either way. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
