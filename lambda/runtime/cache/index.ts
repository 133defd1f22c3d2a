/** The application cache's public API (read path, client, configuration, observability interfaces). */
export { CacheClient, luaScript } from './cache-client';
export type { CacheClientOptions, LuaScript } from './cache-client';
export { CircuitBreaker, CircuitState, DEFAULT_CIRCUIT_BREAKER } from './circuit-breaker';
export type { CircuitBreakerDeps, CircuitBreakerOptions } from './circuit-breaker';
export { DECODED_ENTRY_OVERHEAD_BYTES, DecodedEntries, DEFAULT_DECODED_ENTRIES, MAX_REUSED_ENTRY_CHARS } from './decoded-entries';
export type { DecodedEntriesOptions } from './decoded-entries';
export { decodeEnvelope, encodeEnvelope, ENVELOPE_FORMAT, isTombstone } from './envelope';
export type { Envelope } from './envelope';
export { hashSlot, hashTagOf } from './hash-slot';
export { BusState, decodeBusMessage, DEFAULT_BUS_HEARTBEAT_MS, DEFAULT_BUS_REPLY_TIMEOUT_MS, encodeBusMessage, FillWatch, InvalidationBus } from './invalidation-bus';
export type { BusEvent, BusKey, BusListener, BusMessage, InvalidationBusOptions } from './invalidation-bus';
export { BusMode, connectL1Bus, L1_BUS_ENV, parseBusMode } from './l1-bus';
export type { L1BusConnection, L1BusOptions } from './l1-bus';
export { DECODED_BYTES_PER_JSON_CHAR } from './heap-size';
export { L1_ENTRY_OVERHEAD_BYTES, LocalCache } from './local-cache';
export type { LocalCacheOptions } from './local-cache';
export { CacheMetric, InMemoryCacheMetrics, noopCacheLogger, noopCacheMetrics } from './metrics';
export type { CacheLogger, CacheMetrics } from './metrics';
export { DEFAULT_BUS_FALLBACK_L1_TTL_SECONDS, DEFAULT_EARLY_REFRESH_BETA, DEFAULT_L1, DEFAULT_LOCK, DEFAULT_STALE_TTL_SECONDS, ReadThroughCache } from './read-through';
export type { CacheRead, CacheSource, CacheStats, L1Options, Loaded, Loader, LockOptions, ReadOptions, ReadThroughCacheDeps } from './read-through';
export {
  createRedis,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  parseAuthSecret,
  parseRedisUrl,
  resolveCacheConfig,
  secretFromSecretsManager,
} from './redis-client';
export type { CacheClientConfig, CacheNode, SecretReader } from './redis-client';
export { followAuthRotation, isWrongPassword } from './auth-rotation';
export type { AuthRotationOptions, CachePasswords } from './auth-rotation';
export { DEFAULT_TAG_MARK_TTL_MS, entryCurrent, markAllows, MAX_TAGGED_READS, TAG_CLOCK_TTL_MS, TagIndex, taggedLoader } from './tag-index';
export type { InvalidateOptions, TaggedLoaderOptions, TagIndexOptions, TagInvalidation, TagStore } from './tag-index';
