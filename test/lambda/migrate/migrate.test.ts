import * as path from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Client } from 'pg';
import { PostgresServer } from '../../support/servers';

const MIGRATIONS = path.join(__dirname, '..', '..', '..', 'db', 'migrations');

function event(requestType: 'Create' | 'Update' | 'Delete', physicalResourceId?: string): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Test/1',
    RequestId: 'request-1',
    LogicalResourceId: 'Migrations',
    ResourceType: 'Custom::DatabaseMigrations',
    ResourceProperties: { ServiceToken: 'token', MigrationsHash: 'abc' },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update') return { ...base, RequestType: 'Update', PhysicalResourceId: physicalResourceId!, OldResourceProperties: { ServiceToken: 'token', MigrationsHash: 'old' } };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: physicalResourceId! };
}

describe('migrate custom resource handler', () => {
  let server: PostgresServer;
  let handler: typeof import('../../../lambda/migrate/index').handler;
  const saved = { ...process.env };

  beforeAll(async () => {
    server = await PostgresServer.start();
    process.env.DATABASE_URL = server.url;
    process.env.MIGRATIONS_DIR = MIGRATIONS;
    process.env.DB_HOST = 'cluster.example';
    process.env.DB_NAME = 'postgres';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    ({ handler } = await import('../../../lambda/migrate/index'));
  });

  afterAll(async () => {
    process.env = saved;
    await server?.stop();
  });

  async function tables(): Promise<string[]> {
    const client = new Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' order by table_name");
      return rows.map((r) => r.table_name);
    } finally {
      await client.end();
    }
  }

  test('Create applies every migration, Update applies nothing new, Delete keeps the schema; the physical id never changes', async () => {
    const created = await handler(event('Create'));
    expect(created.PhysicalResourceId).toBe('migrations:cluster.example/postgres');
    expect(created.Data?.Applied.split(',')[0]).toBe('001_init.sql');
    expect(created.Data?.AppliedCount).toBeGreaterThanOrEqual(1);
    expect(await tables()).toEqual(expect.arrayContaining(['categories', 'orders', 'products', 'schema_migrations', 'users']));

    const updated = await handler(event('Update', created.PhysicalResourceId));
    expect(updated).toEqual({ PhysicalResourceId: created.PhysicalResourceId, Data: { Applied: '', AppliedCount: 0 } });

    const deleted = await handler(event('Delete', created.PhysicalResourceId));
    expect(deleted).toEqual({ PhysicalResourceId: created.PhysicalResourceId });
    expect(await tables()).toContain('products');
  });

  test('a database that cannot be reached fails the deployment with the cause', async () => {
    const dead = await PostgresServer.start();
    const url = dead.url;
    await dead.stop();
    process.env.DATABASE_URL = url;
    try {
      await expect(handler(event('Create'))).rejects.toThrow(/ECONNREFUSED|connect/);
    } finally {
      process.env.DATABASE_URL = server.url;
    }
  });
});
