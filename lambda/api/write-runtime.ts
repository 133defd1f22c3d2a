/**
 * The write side of the API runtime: the clients and cores behind the write routes, built from the
 * same environment as the read side (lambda/api/runtime.ts calls it once per sandbox).
 *
 * Environment: `WRITE_BEHIND_QUEUE_URL` (the SQS FIFO queue of profile changes) and
 * `INVALIDATION_EVENT_BUS_NAME` / `INVALIDATION_SOURCE` (set by `InvalidationPipeline.grantPublish`).
 * Without them — as in
 * `npm run dev` — profile changes go to an in-process queue flushed by the same core as the Lambda
 * flusher, and invalidations purge the local Redis in-process (no CDN).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { createWriteRoutes, WriteRouteHandler } from '../shop/api/write-routes';
import { CacheClient, CacheLogger, EventBridgeInvalidationPublisher, InvalidationPublisher, lazyClient, loadSqs, LocalInvalidationPublisher, ReadThroughCache, TagIndex, type CacheKeys } from 'cache-pyramid/runtime';
import { UserRepository } from '../shop/repositories';
import { refreshCachedProfiles } from '../shop/write-behind/cache-refresh';
import { LocalWriteBehindQueue } from '../shop/write-behind/local-queue';
import { ProfileSequencer } from '../shop/write-behind/profile-sequencer';
import { ProfileChangeQueue, SqsProfileChangeQueue } from '../shop/write-behind/queue';

export interface WriteRuntimeOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: CacheLogger;
  readonly cacheClient: CacheClient;
  /** The shared read-through cache of the read routes. */
  readonly cache: ReadThroughCache;
  /** Per-user data (profiles, orders): Redis only (the runtime's `personalCache`). */
  readonly personalCache: ReadThroughCache;
  /** The tag sets of products and list pages (the runtime's `tagIndex`). */
  readonly tagIndex: TagIndex;
  readonly keys: CacheKeys;
  readonly pool: Pool;
}

export interface WriteRuntime {
  /** Per-user data (profiles, orders): Redis only, so a user reads their own writes on any instance. */
  readonly personalCache: ReadThroughCache;
  /** The tag sets of products and list pages: recorded by reads, purged by product writes. */
  readonly tagIndex: TagIndex;
  readonly writes: WriteRouteHandler;
  /** The in-process write-behind queue, when there is no SQS queue (npm run dev). */
  readonly localQueue?: LocalWriteBehindQueue;
  /** Drains the in-process queue (what PostgreSQL can take). */
  close(): Promise<void>;
}

/** The write-behind queue's SQS client, loaded at its first send: read-only sandboxes start without it (the publisher loads EventBridge the same way). */
function sqsClient(): Pick<SQSClient, 'send'> {
  return lazyClient(async () => new (loadSqs().SQSClient)({}));
}

export function createWriteRuntime(options: WriteRuntimeOptions): WriteRuntime {
  const { env, logger, cacheClient, cache, personalCache, tagIndex, keys, pool } = options;
  const publisher: InvalidationPublisher = env.INVALIDATION_EVENT_BUS_NAME
    ? new EventBridgeInvalidationPublisher({ eventBusName: env.INVALIDATION_EVENT_BUS_NAME, source: env.INVALIDATION_SOURCE || undefined, cacheKeys: keys })
    : new LocalInvalidationPublisher({ redis: cacheClient.redis, cacheKeys: keys, logger });
  let localQueue: LocalWriteBehindQueue | undefined;
  let profileQueue: ProfileChangeQueue;
  if (env.WRITE_BEHIND_QUEUE_URL) {
    profileQueue = new SqsProfileChangeQueue(sqsClient(), env.WRITE_BEHIND_QUEUE_URL);
  } else {
    localQueue = new LocalWriteBehindQueue({ db: pool, log: logger, onUpdated: refreshCachedProfiles(personalCache, keys) });
    localQueue.start();
    profileQueue = localQueue;
  }
  const writes = createWriteRoutes({
    db: pool,
    cache,
    personalCache,
    keys,
    users: new UserRepository(pool),
    tagIndex,
    publisher,
    profileQueue,
    sequencer: new ProfileSequencer(cacheClient, keys),
    log: logger,
  });
  return {
    personalCache,
    tagIndex,
    writes,
    localQueue,
    close: async () => {
      await localQueue?.stop();
    },
  };
}
