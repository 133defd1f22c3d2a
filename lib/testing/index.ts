/**
 * `cache-pyramid/testing`: the real-server harness the package's own tests run on, for yours: a
 * standalone Redis, a Redis Cluster (three masters, optional replicas) and a PostgreSQL, each on free
 * ports of 127.0.0.1 in its own temp dir (never the machine's 6379/5432), with the local-run helpers
 * (`startLocalServers`, the API Gateway payload-v2 event of an HTTP request). Needs `redis-server`
 * and PostgreSQL's `initdb`/`postgres` on the machine (`PG_BIN_DIR`, else the newest under
 * /usr/lib/postgresql). See docs/testing.md.
 */
export { freePort, killRegisteredServers, PortTakenError, PostgresServer, preparePostgresTemplate, RedisCluster, RedisClusterNode, RedisServer, releasePort } from './servers';
export type { RedisClusterOptions, RedisServerOptions } from './servers';
export { startLocalServers } from './local-servers';
export type { LocalServers, LocalServersOptions } from './local-servers';
export { toApiEvent } from './http-events';
export type { IncomingRequest, VerifiedJwt } from './http-events';
export { normalizeTemplate } from './snapshot';
export type { NormalizeTemplateOptions, TemplateSource } from './snapshot';
