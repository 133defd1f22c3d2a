/**
 * What the cache core reports, as narrow interfaces: production passes Powertools (see
 * `../observability.ts`), tests pass {@link InMemoryCacheMetrics}.
 */

/** Metric names, published as CloudWatch metrics in the `CachePyramid` namespace. */
export enum CacheMetric {
  L1_HIT = 'L1Hit',
  L1_MISS = 'L1Miss',
  REDIS_HIT = 'RedisHit',
  REDIS_MISS = 'RedisMiss',
  /** A cache operation failed or was skipped because the circuit is open; the read went on without it. */
  CACHE_ERROR = 'CacheError',
  ORIGIN_LOAD = 'OriginLoad',
  /** Milliseconds one origin load took. */
  ORIGIN_LOAD_LATENCY = 'OriginLoadLatency',
  /** A value past its soft expiry was served (stale-while-revalidate or stale-if-error). */
  STALE_SERVED = 'StaleServed',
}

export interface CacheMetrics {
  /** Adds `value` (default 1) to a counter. */
  count(metric: CacheMetric, value?: number): void;
  /** Records one duration in milliseconds. */
  timing(metric: CacheMetric, milliseconds: number): void;
}

/** The logging the cache core needs (a message and structured attributes); Powertools `Logger` satisfies it. */
export interface CacheLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export const noopCacheMetrics: CacheMetrics = {
  count: () => undefined,
  timing: () => undefined,
};

export const noopCacheLogger: CacheLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Keeps every count and timing in memory (tests, the local dev server's hit-rate figure). */
export class InMemoryCacheMetrics implements CacheMetrics {
  private readonly counts = new Map<CacheMetric, number>();
  private readonly timings = new Map<CacheMetric, number[]>();

  count(metric: CacheMetric, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }

  timing(metric: CacheMetric, milliseconds: number): void {
    const list = this.timings.get(metric) ?? [];
    list.push(milliseconds);
    this.timings.set(metric, list);
  }

  /** The counter's total, 0 when never counted. */
  total(metric: CacheMetric): number {
    return this.counts.get(metric) ?? 0;
  }

  /** Every duration recorded for `metric`, in order. */
  durations(metric: CacheMetric): readonly number[] {
    return this.timings.get(metric) ?? [];
  }

  reset(): void {
    this.counts.clear();
    this.timings.clear();
  }
}
