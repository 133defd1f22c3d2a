import { Duration } from 'aws-cdk-lib';
import type { ICacheApiDatabase } from './cache-api';

/** Environment variable: how long a function's pool keeps retrying to connect (the runtime's `resolveDbPoolConfig`). */
export const DB_CONNECT_RETRY_BUDGET_MS_ENV = 'DB_CONNECT_RETRY_BUDGET_MS';

/**
 * What a function's statements and answer take after its last connection attempt: the statement
 * timeout (2 s, `DB_STATEMENT_TIMEOUT_MS`), the client's 0.5 s on top of it and a second to answer.
 */
const TIME_AFTER_CONNECTING_MS = 3500;

/**
 * How long a function may keep retrying to connect to a database that is resuming (Aurora at 0 ACU
 * takes about 15 s): its timeout less the time its statements and answer need, so a request that
 * still cannot connect gets its 503 with `Retry-After` before Lambda times out. 0 (one attempt)
 * when the timeout leaves no time for a retry.
 */
export function connectRetryBudgetMs(timeout: Duration): number {
  return Math.max(0, timeout.toMilliseconds() - TIME_AFTER_CONNECTING_MS);
}

/**
 * The database variables of a function with this `timeout`: the database's `clientEnvironment`
 * (`DB_*`) and `DB_CONNECT_RETRY_BUDGET_MS` from {@link connectRetryBudgetMs}, so that the pool the
 * runtime builds (`resolveDbPoolConfig`, `createPool`) waits out a resuming Aurora. A timeout that
 * is an unresolved token adds no budget (one attempt), since it cannot be computed at synth.
 * {@link CacheApi} and {@link ResourceApi} set these; use it for a `CachePyramidFunction` of your
 * own that you grant the database to.
 */
export function databaseEnvironment(database: ICacheApiDatabase, timeout: Duration): Record<string, string> {
  return {
    ...database.clientEnvironment,
    ...(timeout.isUnresolved() ? {} : { [DB_CONNECT_RETRY_BUDGET_MS_ENV]: String(connectRetryBudgetMs(timeout)) }),
  };
}
