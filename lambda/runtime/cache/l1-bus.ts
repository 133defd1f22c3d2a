/**
 * How a function's L1 learns of other instances' writes, chosen by `CACHE_L1_BUS` (docs/runtime.md
 * "L1 invalidation bus: bus, sync or TTL only"). The shop's API and any handler built on the
 * runtime read the variable the same way: `CacheApi`'s and `ResourceApi`'s `l1Bus` prop sets it.
 *
 * ```ts
 * const l1Bus = connectL1Bus(cacheClient, { mode: parseBusMode(env.CACHE_L1_BUS), keys });
 * const cache = new ReadThroughCache({ client: cacheClient, keys, ttls, bus: l1Bus.bus });
 * // at the start of every invocation, before L1 is read:
 * await l1Bus.beforeInvocation();
 * ```
 */
import type { CacheKeys } from '../keys';
import type { CacheClient } from './cache-client';
import { InvalidationBus } from './invalidation-bus';
import type { CacheLogger } from './metrics';

/** Environment variable naming the {@link BusMode} of a function. */
export const L1_BUS_ENV = 'CACHE_L1_BUS';

/**
 * How L1 learns of other instances' writes:
 * - `off` (default): it does not; another instance's write shows when the L1 copy expires (L1 TTL);
 * - `listen`: the invalidation bus, with a heartbeat; for long-running processes (`npm run dev`, containers);
 * - `sync`: the bus, plus one round trip on its connection at the start of each invocation, which
 *   processes what arrived while the Lambda sandbox was frozen before L1 is read.
 */
export enum BusMode {
  OFF = 'off',
  LISTEN = 'listen',
  SYNC = 'sync',
}

/** The mode `value` (the `CACHE_L1_BUS` variable) names: `off` when unset or empty, an error for anything else. */
export function parseBusMode(value: string | undefined): BusMode {
  if (value === undefined || value === '') return BusMode.OFF;
  const mode = Object.values(BusMode).find((m) => m === value);
  if (!mode) throw new Error(`${L1_BUS_ENV} must be one of ${Object.values(BusMode).join(', ')}, got ${JSON.stringify(value)}`);
  return mode;
}

/** Options of {@link connectL1Bus}. */
export interface L1BusOptions {
  /** The mode, usually `parseBusMode(env.CACHE_L1_BUS)`. */
  readonly mode: BusMode;
  /** The application's keys: every instance of the application uses the channel `<prefix>bus` ({@link InvalidationBus.channelFor}). */
  readonly keys: Pick<CacheKeys, 'prefix'>;
  /** @default - no logging */
  readonly logger?: CacheLogger;
}

/** The bus a {@link BusMode} asks for, and what each invocation must do with it. */
export interface L1BusConnection {
  readonly mode: BusMode;
  /** Pass it to `ReadThroughCache` as `bus`; undefined with `BusMode.OFF`. */
  readonly bus?: InvalidationBus;
  /**
   * Call at the start of each invocation, before L1 is read: with `sync` it processes every bus
   * message that arrived while the sandbox was frozen (one round trip); otherwise it does nothing.
   */
  beforeInvocation(): Promise<void>;
}

/**
 * Opens the invalidation bus next to `client` as `mode` asks: none for `off`; with a heartbeat for
 * `listen`; without one for `sync`, where {@link L1BusConnection.beforeInvocation} checks the
 * subscription at each invocation instead. Until the bus has subscribed (`bus.subscribed(ms)`),
 * L1 entries live at most `busFallbackL1TtlSeconds`.
 */
export function connectL1Bus(client: CacheClient, options: L1BusOptions): L1BusConnection {
  const { mode } = options;
  if (mode === BusMode.OFF) return { mode, beforeInvocation: async () => undefined };
  const bus = InvalidationBus.connect(client, {
    channel: InvalidationBus.channelFor(options.keys),
    heartbeatMs: mode === BusMode.SYNC ? 0 : undefined,
    logger: options.logger,
  });
  return {
    mode,
    bus,
    beforeInvocation: async () => {
      if (mode === BusMode.SYNC) await bus.sync();
    },
  };
}
