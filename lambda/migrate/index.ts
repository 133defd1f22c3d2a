/**
 * CloudFormation custom resource (behind the `cr.Provider` framework) that applies the SQL
 * migrations bundled next to this file (`./migrations/NNN_name.sql`, copied at bundling time from
 * `OriginDatabase`'s `migrationsDirectory`, `db/migrations` by default) to the Aurora database,
 * using the same runner as `npm run db:setup` and the tests. Create and Update apply whatever is not applied yet (an Update happens when a migration
 * file changes, because the construct puts a hash of the folder in the resource's properties);
 * Delete leaves the schema alone: dropping data is never a side effect of removing a stack resource.
 */
import * as path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { runMigrations } from '../runtime/db/migrations';
import { createPool, resolveDbPoolConfig, type DbEnvironment } from '../runtime/db/pool';

const logger = new Logger({ serviceName: 'cache-pyramid-migrate' });
const secrets = new SecretsManagerClient({});
/** Bundled next to the handler; `MIGRATIONS_DIR` points elsewhere (tests, a local run). */
const MIGRATIONS_DIR = process.env.MIGRATIONS_DIR ?? path.join(__dirname, 'migrations');

/** What the provider framework turns into the custom resource's physical id and attributes. */
export interface MigrationResult {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly Applied: string; readonly AppliedCount: number };
}

async function readSecret(secretId: string): Promise<string> {
  const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!response.SecretString) throw new Error(`secret ${secretId} has no SecretString`);
  return response.SecretString;
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<MigrationResult> {
  const env = process.env as DbEnvironment;
  // A stable id: a new one would make CloudFormation send Delete for the old one after an update.
  const physicalResourceId = `migrations:${env.DB_HOST ?? 'unknown'}/${env.DB_NAME ?? 'unknown'}`;
  if (event.RequestType === 'Delete') {
    logger.info('delete leaves the schema in place', { physicalResourceId });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const config = await resolveDbPoolConfig({
    // DDL on a large table can run for minutes; the API's request-sized timeouts do not apply here.
    env: { ...env, DB_POOL_MAX: '1', DB_CONNECT_TIMEOUT_MS: '30000', DB_STATEMENT_TIMEOUT_MS: '240000' },
    readSecret,
    applicationName: 'cache-pyramid-migrate',
  });
  const pool = createPool(config, (error) => logger.warn('idle migration connection failed', { error }));
  try {
    const applied = await runMigrations(pool, MIGRATIONS_DIR, { lockTimeoutMs: 120_000 });
    logger.info('migrations applied', { requestType: event.RequestType, applied });
    return { PhysicalResourceId: physicalResourceId, Data: { Applied: applied.join(','), AppliedCount: applied.length } };
  } catch (error) {
    logger.error('migrations failed', { error });
    throw error;
  } finally {
    await pool.end();
  }
}
