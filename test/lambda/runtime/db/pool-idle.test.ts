import { Pool } from 'pg';
import { createPool, resolveDbPoolConfig } from '../../../../lambda/runtime/db/pool';
import { PostgresServer } from '../../../support/servers';
import { createDatabase } from './support';

/**
 * Aurora Serverless v2 pauses at 0 ACU only when no session is left. A frozen Lambda sandbox runs
 * no timers, so the pool's own idle timeout cannot close its connections: the server must.
 */
describe('pool idle sessions', () => {
  let server: PostgresServer;
  let url: string;
  let admin: Pool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    url = await createDatabase(server, 'idle');
    admin = new Pool({ connectionString: url, max: 1 });
  });

  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  async function sessions(applicationName: string): Promise<number> {
    const { rows } = await admin.query<{ count: string }>('select count(*) from pg_stat_activity where application_name = $1', [applicationName]);
    return Number(rows[0].count);
  }

  /** Polls until `sessions(name)` is `want`, for at most `boundMs` (generous: the machine is shared). */
  async function waitForSessions(applicationName: string, want: number, boundMs: number): Promise<number> {
    const deadline = Date.now() + boundMs;
    let count = await sessions(applicationName);
    while (count !== want && Date.now() < deadline) {
      await sleep(100);
      count = await sessions(applicationName);
    }
    return count;
  }

  it('has the server end a session left idle by a process that runs no timers (a frozen sandbox), then connects anew', async () => {
    const applicationName = `idle-frozen-${process.pid}`;
    const config = await resolveDbPoolConfig({ env: { DATABASE_URL: url, DB_IDLE_TIMEOUT_MS: '200' }, applicationName });
    // idleTimeoutMillis 0 switches the pool's own reaping off, as freezing does: only the server can close the session.
    const frozen = createPool({ ...config, idleTimeoutMillis: 0 });
    try {
      await frozen.query('select 1');
      expect(await sessions(applicationName)).toBe(1);
      expect(await waitForSessions(applicationName, 0, 30_000)).toBe(0);
      // The pool drops the client the server closed and answers the next query on a new connection.
      const deadline = Date.now() + 10_000;
      while (frozen.totalCount > 0 && Date.now() < deadline) await sleep(50);
      expect((await frozen.query<{ one: number }>('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await frozen.end();
    }
  }, 60_000);

  it('leaves the session of the same frozen process open without the server-side timeout (the pool alone cannot release it)', async () => {
    const applicationName = `idle-naive-${process.pid}`;
    const config = await resolveDbPoolConfig({ env: { DATABASE_URL: url, DB_IDLE_TIMEOUT_MS: '200' }, applicationName });
    const naive = createPool({ ...config, options: undefined, idleTimeoutMillis: 0 });
    try {
      await naive.query('select 1');
      await sleep(2000);
      expect(await sessions(applicationName)).toBe(1);
    } finally {
      await naive.end();
    }
  });

  it('sets idle_session_timeout to twice the pool idle timeout, 2 minutes by default', async () => {
    const pool = createPool(await resolveDbPoolConfig({ env: { DATABASE_URL: url }, applicationName: `idle-default-${process.pid}` }));
    try {
      const { rows } = await pool.query<{ setting: string; unit: string }>("select setting, unit from pg_settings where name = 'idle_session_timeout'");
      expect(rows[0]).toEqual({ setting: '120000', unit: 'ms' });
    } finally {
      await pool.end();
    }
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
