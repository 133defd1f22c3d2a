/**
 * The PostgreSQL pool of a function: from `DATABASE_URL` locally, or from `DB_HOST` / `DB_NAME` and
 * the Secrets Manager secret `DB_SECRET_ARN` in AWS (always TLS with certificate verification).
 *
 * Sized for Lambda: one request at a time per instance, plus one background stale-while-revalidate
 * refresh, so two connections; short connect / statement / read timeouts so that a hung database
 * costs a request a bounded time and the API can answer 503 (or a stale value) instead of hanging.
 *
 * The adapter passes the environment in; nothing here reads `process.env`.
 */
import { Pool, PoolClient, PoolConfig } from 'pg';
import { isOriginUnavailable } from './origin-errors';

/** Reads a secret's string value by ARN or name (Secrets Manager in AWS, anything in tests). */
export type SecretReader = (secretId: string) => Promise<string>;

/** The environment variables this module understands. */
export interface DbEnvironment {
  readonly DATABASE_URL?: string;
  readonly DB_HOST?: string;
  readonly DB_PORT?: string;
  readonly DB_NAME?: string;
  readonly DB_SECRET_ARN?: string;
  readonly DB_POOL_MAX?: string;
  readonly DB_CONNECT_TIMEOUT_MS?: string;
  readonly DB_STATEMENT_TIMEOUT_MS?: string;
  readonly DB_CONNECT_RETRY_BUDGET_MS?: string;
  readonly DB_IDLE_TIMEOUT_MS?: string;
}

/** Limits of the pool, all overridable through the environment. */
export interface DbPoolLimits {
  /** Connections per process (`DB_POOL_MAX`). @default 2 */
  readonly max: number;
  /** Time to establish a connection, TLS included (`DB_CONNECT_TIMEOUT_MS`). @default 3000 */
  readonly connectTimeoutMs: number;
  /** Server-side `statement_timeout` (`DB_STATEMENT_TIMEOUT_MS`); the client gives up 500 ms later. @default 2000 */
  readonly statementTimeoutMs: number;
  /**
   * Time a checkout may spend retrying connections that fail because the server is not accepting
   * them yet (`DB_CONNECT_RETRY_BUDGET_MS`; 0 = one attempt): Aurora Serverless v2 resuming from 0
   * ACU takes about 15 s. No attempt starts that could end after the budget. @default 0
   */
  readonly connectRetryBudgetMs: number;
  /**
   * How long a connection may sit idle (`DB_IDLE_TIMEOUT_MS`). A running process closes it after
   * this long; the server closes it after twice as long (`idle_session_timeout`),
   * which is what releases the connections of a frozen Lambda sandbox, whose timers do not run:
   * Aurora Serverless v2 pauses at 0 ACU only once no connection is left. @default 60000
   */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_DB_POOL_LIMITS: DbPoolLimits = { max: 2, connectTimeoutMs: 3000, statementTimeoutMs: 2000, connectRetryBudgetMs: 0, idleTimeoutMs: 60_000 };


/** A `pg` pool configuration plus how checkouts retry connecting ({@link createPool}). */
export interface DbPoolConfig extends PoolConfig {
  /** @default - one attempt */
  readonly connectRetry?: ConnectRetryPolicy;
}

/** Exponential backoff with jitter between connection attempts, within a budget. */
export interface ConnectRetryPolicy {
  /** Most time from the first attempt to the end of the last one. */
  readonly budgetMs: number;
  /** First pause between attempts (then doubled, with jitter). @default 100 */
  readonly initialDelayMs?: number;
  /** Longest pause between attempts. @default 2000 */
  readonly maxDelayMs?: number;
  /** Called before each pause, e.g. to log that the database is not there yet. */
  readonly onRetry?: (attempt: number, error: Error, delayMs: number) => void;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What a Secrets Manager secret of an RDS/Aurora user holds (the shape RDS generates). */
export interface DbSecret {
  readonly username: string;
  readonly password: string;
  readonly port?: number;
  readonly host?: string;
  readonly dbname?: string;
}

export interface DbPoolOptions {
  /** The environment (the adapter passes `process.env`). */
  readonly env: DbEnvironment;
  /** Needed when `DB_SECRET_ARN` is used. */
  readonly readSecret?: SecretReader;
  /** `application_name` seen in `pg_stat_activity`. @default 'cache-pyramid' */
  readonly applicationName?: string;
  /** How long a fetched secret is trusted before new connections re-read it (rotation). @default 300000 */
  readonly secretMaxAgeMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

function positiveInteger(env: DbEnvironment, name: keyof DbEnvironment, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${name} must be an integer between 1 and ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function parseDbSecret(json: string, secretId: string): DbSecret {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`database secret ${secretId} must be JSON with username and password`);
  }
  const secret = parsed as Partial<DbSecret>;
  if (typeof secret?.username !== 'string' || typeof secret.password !== 'string' || secret.username === '' || secret.password === '') {
    throw new Error(`database secret ${secretId} must hold non-empty string fields username and password`);
  }
  if (secret.port !== undefined && !(Number.isInteger(Number(secret.port)) && Number(secret.port) > 0 && Number(secret.port) < 65536)) {
    throw new Error(`database secret ${secretId} has an invalid port ${JSON.stringify(secret.port)}`);
  }
  return {
    username: secret.username,
    password: secret.password,
    port: secret.port === undefined ? undefined : Number(secret.port),
    host: typeof secret.host === 'string' ? secret.host : undefined,
    dbname: typeof secret.dbname === 'string' ? secret.dbname : undefined,
  };
}

/** Reads the limits from the environment, rejecting values that are not sensible. */
export function resolveDbPoolLimits(env: DbEnvironment): DbPoolLimits {
  return {
    max: positiveInteger(env, 'DB_POOL_MAX', DEFAULT_DB_POOL_LIMITS.max, 100),
    connectTimeoutMs: positiveInteger(env, 'DB_CONNECT_TIMEOUT_MS', DEFAULT_DB_POOL_LIMITS.connectTimeoutMs, 60_000),
    statementTimeoutMs: positiveInteger(env, 'DB_STATEMENT_TIMEOUT_MS', DEFAULT_DB_POOL_LIMITS.statementTimeoutMs, 300_000),
    connectRetryBudgetMs: env.DB_CONNECT_RETRY_BUDGET_MS === '0' ? 0 : positiveInteger(env, 'DB_CONNECT_RETRY_BUDGET_MS', DEFAULT_DB_POOL_LIMITS.connectRetryBudgetMs, 900_000),
    idleTimeoutMs: positiveInteger(env, 'DB_IDLE_TIMEOUT_MS', DEFAULT_DB_POOL_LIMITS.idleTimeoutMs, 3_600_000),
  };
}

/**
 * The `pg` pool configuration for `env`. With `DB_SECRET_ARN` the secret is read once here (it
 * names the user and maybe the port) and again, at most every `secretMaxAgeMs`, whenever a new
 * connection is opened, so a rotated password is picked up without a redeploy.
 */
export async function resolveDbPoolConfig(options: DbPoolOptions): Promise<DbPoolConfig> {
  const { env } = options;
  const limits = resolveDbPoolLimits(env);
  const common: DbPoolConfig = {
    ...(limits.connectRetryBudgetMs > 0 ? { connectRetry: { budgetMs: limits.connectRetryBudgetMs } } : {}),
    max: limits.max,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    statement_timeout: limits.statementTimeoutMs,
    // statement_timeout cannot fire on a server that is hung (SIGSTOP, network partition).
    query_timeout: limits.statementTimeoutMs + 500,
    idle_in_transaction_session_timeout: limits.statementTimeoutMs * 2,
    idleTimeoutMillis: limits.idleTimeoutMs,
    // PostgreSQL 14+ (Aurora PostgreSQL 14+): the server ends the session even when this process is
    // frozen. Twice the pool's own timeout, so a process that runs always closes its idle connections
    // first and a checkout never picks one the server is about to end.
    options: `-c idle_session_timeout=${limits.idleTimeoutMs * 2}`,
    keepAlive: true,
    application_name: options.applicationName ?? 'cache-pyramid',
  };
  if (env.DATABASE_URL) return { ...common, connectionString: env.DATABASE_URL };

  if (!env.DB_HOST || !env.DB_NAME || !env.DB_SECRET_ARN) {
    const missing = (['DB_HOST', 'DB_NAME', 'DB_SECRET_ARN'] as const).filter((name) => !env[name]);
    throw new Error(`set DATABASE_URL, or all of DB_HOST, DB_NAME and DB_SECRET_ARN (missing: ${missing.join(', ')})`);
  }
  const { readSecret } = options;
  if (!readSecret) throw new Error('DB_SECRET_ARN is set but no secret reader was given');
  const secretId = env.DB_SECRET_ARN;
  const now = options.now ?? Date.now;
  const maxAgeMs = options.secretMaxAgeMs ?? 300_000;
  let secret = parseDbSecret(await readSecret(secretId), secretId);
  let fetchedAt = now();
  const currentPassword = async (): Promise<string> => {
    if (now() - fetchedAt >= maxAgeMs) {
      try {
        secret = parseDbSecret(await readSecret(secretId), secretId);
        fetchedAt = now();
      } catch {
        // Secrets Manager briefly unreachable: keep connecting with the last known password.
      }
    }
    return secret.password;
  };
  return {
    ...common,
    host: env.DB_HOST,
    port: positiveInteger(env, 'DB_PORT', secret.port ?? 5432, 65535),
    database: env.DB_NAME,
    user: secret.username,
    password: currentPassword,
    // Aurora's certificate chains to the Amazon RDS CAs: the function sets NODE_EXTRA_CA_CERTS to
    // /var/runtime/ca-cert.pem so that Node trusts them; verification is never turned off.
    ssl: { rejectUnauthorized: true },
  };
}

/**
 * A pool for `config`. Errors of idle clients (the server restarted, a NAT dropped the socket while
 * the Lambda sandbox was frozen) are reported to `onIdleError` instead of crashing the process;
 * the pool replaces such clients on the next checkout. With `config.connectRetry`, a checkout
 * (and so every `pool.query`) retries a connection the server refused, reset or did not answer in
 * time, with backoff, until the budget is spent; then the last error goes to the caller, which
 * maps it to 503 with `Retry-After` ({@link toOriginError}).
 */
export function createPool(config: DbPoolConfig, onIdleError: (error: Error) => void = () => undefined): Pool {
  const { connectRetry, ...pgConfig } = config;
  const pool = connectRetry === undefined || connectRetry.budgetMs <= 0 ? new Pool(pgConfig) : new RetryingPool(pgConfig, connectRetry);
  pool.on('error', onIdleError);
  return pool;
}

/** True for a failure to get a connection that a later attempt may not have (not a bad password or query). */
function isRetryableConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (code.startsWith('28') || code === '57014')) return false;
  return isOriginUnavailable(error);
}

type ConnectCallback = (err: Error | undefined, client: PoolClient | undefined, done: (release?: unknown) => void) => void;

/** `pg.Pool` whose checkouts retry connecting within a budget (`pool.query` checks out through `connect`). */
class RetryingPool extends Pool {
  private readonly connectTimeoutMs: number;

  constructor(
    config: PoolConfig,
    private readonly retry: ConnectRetryPolicy,
  ) {
    super(config);
    this.connectTimeoutMs = config.connectionTimeoutMillis ?? 0;
  }

  override connect(): Promise<PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<PoolClient> | void {
    const checkout = this.connectWithRetry();
    if (callback === undefined) return checkout;
    checkout.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | boolean | undefined)),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }

  private async connectWithRetry(): Promise<PoolClient> {
    const now = this.retry.now ?? Date.now;
    const sleep = this.retry.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const maxDelay = this.retry.maxDelayMs ?? 2000;
    let delay = this.retry.initialDelayMs ?? 100;
    const started = now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.connect();
      } catch (error) {
        // Half fixed, half random: attempts of many sandboxes spread out without ever retrying at once.
        const pause = Math.round(delay / 2 + Math.random() * (delay / 2));
        const endOfNextAttempt = now() - started + pause + this.connectTimeoutMs;
        if (!isRetryableConnectError(error) || endOfNextAttempt > this.retry.budgetMs) throw error;
        this.retry.onRetry?.(attempt, error as Error, pause);
        await sleep(pause);
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }
}
