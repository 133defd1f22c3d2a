/** Messages between the load driver (./load.ts) and each load process (./load-worker.ts). */

export interface LoadConfig {
  readonly worker: number;
  readonly workers: number;
  readonly startupNodes: { host: string; port: number }[];
  readonly databaseUrl: string;
  /** Products read (all) and written (those whose id % workers === worker, so writers never conflict). */
  readonly productIds: readonly number[];
  /** Users read, and patched by their owner process (id % workers === worker). */
  readonly userIds: readonly number[];
  readonly categories: readonly string[];
  /** Request loops per process. */
  readonly concurrency: number;
  /** Pause between two requests of one loop (keeps a loaded machine responsive). */
  readonly pauseMs: number;
  readonly l1TtlSeconds: number;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** See ReadThroughCacheDeps.replicaAcks; also applied to purges. */
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
}

export type RouteKind = 'product' | 'list' | 'user' | 'put' | 'patch';

/** [startedAt, ms, status, route, x-cache] — compact, there are tens of thousands. */
export type RequestRecord = [number, number, number, RouteKind, string];

export interface ReadRecord {
  readonly resource: string;
  readonly version: number;
  /** The x-cache header. */
  readonly layer: string;
  readonly client: string;
  readonly startedAt: number;
  /** Seen as an item of a list page. */
  readonly list?: boolean;
}

export interface WriteRecord {
  readonly resource: string;
  readonly version: number;
  readonly client: string;
  /** When the request was sent. */
  readonly startedAt: number;
  /** When the 2xx arrived. */
  readonly ackedAt: number;
  /**
   * When the write's Redis invalidation had landed: the 2xx, or — when the tombstone could not reach
   * Redis (failover) and the purge had to be retried — the retry's success.
   */
  settledAt: number;
}

export interface PurgeRecord {
  readonly kind: 'tag' | 'pattern';
  readonly category: string;
  readonly startedAt: number;
  ackedAt: number;
  attempts: number;
}

export interface WorkerReport {
  readonly worker: number;
  readonly requests: RequestRecord[];
  readonly reads: ReadRecord[];
  readonly writes: WriteRecord[];
  readonly purges: PurgeRecord[];
  /** Background retries of write-path purges that failed (Redis failing over). */
  retries: number;
  originLoads: number;
}

export type WorkerMessage =
  | { readonly type: 'start'; readonly config: LoadConfig }
  | { readonly type: 'ready' }
  | { readonly type: 'stop' }
  | { readonly type: 'report'; readonly report: WorkerReport }
  | { readonly type: 'crashed'; readonly error: string };
