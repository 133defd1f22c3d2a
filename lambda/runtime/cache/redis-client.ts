/**
 * Connection settings for ElastiCache Valkey/Redis (or a local server) and the ioredis client built
 * from them: fail-fast settings everywhere, because the cache is an optimisation and a slow cache must
 * cost a request no more than the command timeout.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { lazyClient, loadSecretsManager } from '../aws/lazy-client';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { followAuthRotation, type CachePasswords } from './auth-rotation';
import type { CircuitBreakerOptions } from './circuit-breaker';

export interface CacheNode {
  readonly host: string;
  readonly port: number;
}

export interface CacheClientConfig {
  /** `redis://` or `rediss://` URL (TLS, user and password taken from it). Exclusive with `host` and `clusterNodes`. */
  readonly url?: string;
  /** Standalone (or cluster-mode-disabled primary endpoint) host. */
  readonly host?: string;
  /** Port of `host`. @default 6379 */
  readonly port?: number;
  /** Cluster mode: the startup nodes (in AWS, the configuration endpoint). Exclusive with `url` and `host`. */
  readonly clusterNodes?: readonly CacheNode[];
  /** In-transit encryption (ElastiCache `TransitEncryptionEnabled`). @default false, or true for `rediss://` */
  readonly tls?: boolean;
  /** RBAC user name. @default - the `default` user */
  readonly username?: string;
  /** AUTH token or RBAC password. @default - no AUTH */
  readonly password?: string;
  /** Passwords that may be valid during a token rotation, tried in turn when AUTH answers WRONGPASS. @default - none */
  readonly alternatePasswords?: readonly string[];
  /**
   * Reads the AUTH secret again once every known password was refused (a rotation finished while
   * this client was warm). @default - none: only `password` and `alternatePasswords` are tried
   */
  readonly refreshPasswords?: () => Promise<CachePasswords>;
  /** Time to establish a connection before it counts as failed. @default 100 */
  readonly connectTimeoutMs?: number;
  /** Time any one cache operation may take before the read falls back to the origin. @default 50 */
  readonly commandTimeoutMs?: number;
  /** When to stop calling a failing cache for a while. @default - see DEFAULT_CIRCUIT_BREAKER */
  readonly circuitBreaker?: CircuitBreakerOptions;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 100;
export const DEFAULT_COMMAND_TIMEOUT_MS = 50;
/** How far above `commandTimeoutMs` ioredis' own command timeout is set (a backstop; see createRedis). */
const IOREDIS_TIMEOUT_BACKSTOP_MS = 1_000;

/** Reconnect backoff: 50 ms doubling to a 2 s cap, with jitter so a fleet does not reconnect in step. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(2_000, 50 * 2 ** Math.min(attempt - 1, 6));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * Builds the ioredis client for `config`. Settings that matter when the cache misbehaves:
 * - `enableOfflineQueue: false`: while disconnected a command fails at once instead of queueing
 *   without bound (the read then goes to the origin);
 * - `connectTimeout`, and `commandTimeout` as a backstop 1 s above `commandTimeoutMs`, so that no
 *   command promise to a hung server stays pending. `CacheClient.connect` leaves the backstop out
 *   (`{ commandTimeoutBackstop: false }`): it bounds every command itself, tolerant of event-loop lag,
 *   with one timer for all of them (deadlines.ts), and a timer per command was a measurable share of
 *   a cache hit (bench/hit-path). In that mode ioredis also never sends a command late: no resend of
 *   commands in flight when a connection drops (`maxRetriesPerRequest: 0`,
 *   `autoResendUnfulfilledCommands: false`), no delayed cluster retry after a lost connection or
 *   `CLUSTERDOWN` (`retryDelayOnFailover`/`retryDelayOnClusterDown` 0) — the caller has given up on
 *   it by then, and a write delivered after the caller's fallback lands over newer state
 *   (test/lambda/runtime/cache/late-commands.test.ts);
 * - `maxRetriesPerRequest: 1` (with the backstop): no command is replayed again and again across reconnects;
 * - `reconnectOnError` on `READONLY`: after a failover the old primary is a replica; reconnecting
 *   follows the endpoint to the new primary;
 * - Cluster: `dnsLookup` passthrough so that TLS certificates match ElastiCache host names,
 *   reads from masters only (replicas lag, and a cache must read its own writes).
 */
export function createRedis(config: CacheClientConfig, options: { readonly commandTimeoutBackstop?: boolean } = {}): Redis | Cluster {
  const resolved = normalise(config);
  const backstop = options.commandTimeoutBackstop ?? true;
  // Without the backstop the caller gives up on a command at its own deadline, so ioredis must never
  // send it later (see above): its resends and delayed retries go with the backstop.
  const shared: RedisOptions = {
    username: resolved.username,
    password: resolved.password,
    tls: resolved.tls ? {} : undefined,
    connectTimeout: resolved.connectTimeoutMs,
    commandTimeout: backstop ? resolved.commandTimeoutMs + IOREDIS_TIMEOUT_BACKSTOP_MS : undefined,
    maxRetriesPerRequest: backstop ? 1 : 0,
    autoResendUnfulfilledCommands: backstop,
    enableReadyCheck: true,
    autoResubscribe: false,
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
  if (resolved.clusterNodes) {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      enableReadyCheck: true,
      scaleReads: 'master',
      slotsRefreshTimeout: 1_000,
      slotsRefreshInterval: 5_000,
      retryDelayOnFailover: backstop ? 100 : 0,
      retryDelayOnClusterDown: backstop ? 100 : 0,
      retryDelayOnTryAgain: 50,
      maxRedirections: 6,
      clusterRetryStrategy: (attempt) => reconnectDelayMs(attempt),
      dnsLookup: (address, callback) => callback(null, address),
      redisOptions: shared,
    };
    return followingRotation(
      new Cluster(
        resolved.clusterNodes.map((node) => ({ host: node.host, port: node.port })),
        options,
      ),
      resolved.password,
      config,
    );
  }
  return followingRotation(
    new Redis({
      ...shared,
      host: resolved.host,
      port: resolved.port,
      db: resolved.db,
      enableOfflineQueue: false,
      retryStrategy: (attempt) => reconnectDelayMs(attempt),
    }),
    resolved.password,
    config,
  );
}

function followingRotation<T extends Redis | Cluster>(redis: T, password: string | undefined, config: CacheClientConfig): T {
  if (password !== undefined && (config.alternatePasswords !== undefined || config.refreshPasswords !== undefined)) {
    followAuthRotation(redis, { passwords: { password, alternatePasswords: config.alternatePasswords }, refresh: config.refreshPasswords });
  }
  return redis;
}

interface NormalisedConfig {
  host?: string;
  port: number;
  db?: number;
  clusterNodes?: readonly CacheNode[];
  tls: boolean;
  username?: string;
  password?: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/** Validates `config` and folds a URL into host/port/credentials. Throws with the field name on bad input. */
export function normalise(config: CacheClientConfig): NormalisedConfig {
  const given = [config.url && 'url', config.host && 'host', config.clusterNodes && 'clusterNodes'].filter(Boolean);
  if (given.length !== 1) {
    throw new Error(`cache config needs exactly one of url, host, clusterNodes; got ${given.length === 0 ? 'none' : given.join(', ')}`);
  }
  const connectTimeoutMs = positive('connectTimeoutMs', config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  const commandTimeoutMs = positive('commandTimeoutMs', config.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
  const base = { connectTimeoutMs, commandTimeoutMs, username: config.username, password: config.password };
  if (config.clusterNodes) {
    if (config.clusterNodes.length === 0) throw new Error('cache config clusterNodes must not be empty');
    config.clusterNodes.forEach((node, i) => checkPort(`clusterNodes[${i}].port`, node.port));
    return { ...base, port: config.clusterNodes[0].port, clusterNodes: config.clusterNodes, tls: config.tls ?? false };
  }
  if (config.host) {
    return { ...base, host: config.host, port: checkPort('port', config.port ?? 6379), tls: config.tls ?? false };
  }
  const url = parseRedisUrl(config.url!);
  return {
    ...base,
    host: url.host,
    port: url.port,
    db: url.db,
    tls: config.tls ?? url.tls,
    username: config.username ?? url.username,
    password: config.password ?? url.password,
  };
}

interface ParsedRedisUrl {
  host: string;
  port: number;
  db?: number;
  tls: boolean;
  username?: string;
  password?: string;
}

/** `redis[s]://[user[:password]@]host[:port][/db]`. */
export function parseRedisUrl(text: string): ParsedRedisUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`REDIS_URL must be a redis:// or rediss:// URL, got ${JSON.stringify(redact(text))}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must use redis:// or rediss://, got ${JSON.stringify(url.protocol)}`);
  }
  if (!url.hostname) throw new Error('REDIS_URL must name a host');
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && (!Number.isInteger(db) || db < 0)) {
    throw new Error(`REDIS_URL database must be a non-negative integer, got ${JSON.stringify(dbText)}`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: checkPort('REDIS_URL port', url.port ? Number(url.port) : 6379),
    db,
    tls: url.protocol === 'rediss:',
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** Reads a secret's string value by ARN; adapters pass the result to {@link resolveCacheConfig}. */
export type SecretReader = (arn: string) => Promise<string>;

/**
 * A {@link SecretReader} over Secrets Manager (create `client` once, at module scope). The SDK
 * package is loaded at the first read, so that importing the runtime does not load it.
 * @param client @default - a SecretsManagerClient with the function's region and credentials, created at the first read
 */
export function secretFromSecretsManager(
  client: Pick<SecretsManagerClient, 'send'> = lazyClient<SecretsManagerClient>(async () => new (loadSecretsManager().SecretsManagerClient)({})),
): SecretReader {
  return async (arn) => {
    const { GetSecretValueCommand } = loadSecretsManager();
    const response = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (response.SecretString === undefined || response.SecretString === '') {
      throw new Error(`secret ${arn} has no SecretString (binary secrets are not supported for the cache AUTH token)`);
    }
    return response.SecretString;
  };
}

/**
 * The AUTH token from a secret that is either the raw token or JSON such as
 * `{"password": "…"}`, `{"authToken": "…"}`, an RBAC `{"username": "…", "password": "…"}`, or what
 * the stack's secret rotator writes: `{"current": "…", "previous": "…", "pending": "…"}` (the
 * previous and pending tokens become `alternatePasswords`, tried when the current one is refused).
 */
export function parseAuthSecret(secret: string): { username?: string; password: string; alternatePasswords?: string[] } {
  const trimmed = secret.trim();
  if (!trimmed.startsWith('{')) return { password: trimmed };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error('cache AUTH secret looks like JSON but does not parse');
  }
  const record = parsed as Record<string, unknown>;
  const password = [record.current, record.password, record.authToken, record.auth_token].find((v) => typeof v === 'string' && v !== '');
  if (typeof password !== 'string') {
    throw new Error('cache AUTH secret JSON must hold a non-empty "current", "password" or "authToken" string');
  }
  const username = typeof record.username === 'string' && record.username !== '' ? record.username : undefined;
  const alternatePasswords = [record.previous, record.pending].filter((v): v is string => typeof v === 'string' && v !== '' && v !== password);
  return alternatePasswords.length === 0 ? { username, password } : { username, password, alternatePasswords };
}

/**
 * The cache configuration from a function's environment (docs/runtime.md): `REDIS_URL` wins over
 * `CACHE_ENDPOINT`/`CACHE_TLS`/`CACHE_AUTH_SECRET_ARN`; `CACHE_CLUSTER_MODE=true` selects a Cluster
 * client with the URL or endpoint as its startup node. Adapters pass `process.env`; the core never
 * reads it. Throws an error naming the variable when a value is malformed or nothing is configured.
 */
export async function resolveCacheConfig(
  env: Readonly<Record<string, string | undefined>>,
  getSecret: SecretReader,
  overrides: Pick<CacheClientConfig, 'connectTimeoutMs' | 'commandTimeoutMs' | 'circuitBreaker'> = {},
): Promise<CacheClientConfig> {
  const clusterMode = parseFlag('CACHE_CLUSTER_MODE', env.CACHE_CLUSTER_MODE);
  if (env.REDIS_URL) {
    if (!clusterMode) return { ...overrides, url: env.REDIS_URL };
    const url = parseRedisUrl(env.REDIS_URL);
    return {
      ...overrides,
      clusterNodes: [{ host: url.host, port: url.port }],
      tls: url.tls,
      username: url.username,
      password: url.password,
    };
  }
  if (!env.CACHE_ENDPOINT) {
    throw new Error('cache is not configured: set REDIS_URL, or CACHE_ENDPOINT (with CACHE_TLS, CACHE_CLUSTER_MODE, CACHE_AUTH_SECRET_ARN)');
  }
  const endpoint = parseEndpoint(env.CACHE_ENDPOINT);
  const tls = parseFlag('CACHE_TLS', env.CACHE_TLS);
  const secretArn = env.CACHE_AUTH_SECRET_ARN;
  const auth = secretArn ? parseAuthSecret(await getSecret(secretArn)) : undefined;
  const common = {
    ...overrides,
    tls,
    username: auth?.username,
    password: auth?.password,
    ...(auth?.alternatePasswords ? { alternatePasswords: auth.alternatePasswords } : {}),
    ...(secretArn ? { refreshPasswords: async () => parseAuthSecret(await getSecret(secretArn)) } : {}),
  };
  return clusterMode ? { ...common, clusterNodes: [endpoint] } : { ...common, host: endpoint.host, port: endpoint.port };
}

function parseEndpoint(text: string): CacheNode {
  const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!match) throw new Error(`CACHE_ENDPOINT must be host:port, got ${JSON.stringify(text)}`);
  return { host: match[1], port: checkPort('CACHE_ENDPOINT port', Number(match[2])) };
}

function parseFlag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`${name} must be "true" or "false", got ${JSON.stringify(value)}`);
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`cache config ${name} must be 1-65535, got ${port}`);
  return port;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`cache config ${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
