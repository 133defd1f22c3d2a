/**
 * `cache-pyramid/runtime`: the library half of cache-pyramid, the code that runs inside your
 * functions. It is the only door: the reference shop (`lambda/api`) and every example import it
 * exactly as a user would.
 *
 * - Application cache: `ReadThroughCache` (L1 + Redis, coalescing, SWR, versioned fills), the
 *   `CacheClient` over ioredis standalone or cluster, key builders and the TTL table.
 * - HTTP caching policy: `Cache-Control`, `ETag`/304, request parsing and JSON responses.
 * - Invalidation: the publisher (EventBridge or local), path and key templates, the purge cores.
 * - Write-behind and PostgreSQL helpers: the durable queue, pool configuration, migrations.
 */
export * from './cache';
export * from './db/migrations';
export * from './db/origin-errors';
export { createPool, DEFAULT_DB_POOL_LIMITS, parseDbSecret, resolveDbPoolConfig, resolveDbPoolLimits } from './db/pool';
export type { DbEnvironment, DbPoolLimits, DbPoolOptions, DbSecret } from './db/pool';
export * from './errors';
export * from './http/cache-control';
export * from './http/etag';
export * from './http/origin-verify';
export * from './http/request';
export * from './http/response';
export * from './invalidation/cloudfront-paths';
export * from './invalidation/messages';
export * from './invalidation/publisher';
export * from './invalidation/templates';
export * from './keys';
export * from './observability';
export * from './ttl';
export * from './resources/resource';
export * from './resources/resource-api';
export * from './auth/claims';
export * from './aws/lazy-client';
export * from './write-behind/dead-letters';
export * from './write-behind/sqs-batch';
export * from './pyramid-runtime';
