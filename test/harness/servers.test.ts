import { Client } from 'pg';
import Redis, { Cluster } from 'ioredis';
import { PostgresServer, RedisCluster, RedisServer } from '../support/servers';

describe('test harness servers', () => {
  test('a standalone redis-server answers on its own free port and can be paused, resumed and restarted', async () => {
    const server = await RedisServer.start();
    try {
      expect(server.port).not.toBe(6379);
      // Generous timeouts wherever an answer is expected: on a loaded machine a healthy server can
      // take seconds to answer. Only the probe's command sent while the server is stopped has a short
      // one: a SIGSTOPped server never answers, so that timeout wins however slow the machine is.
      const client = new Redis(server.url, { commandTimeout: 30_000, maxRetriesPerRequest: 0 });
      const probe = new Redis(server.url, { commandTimeout: 30_000, maxRetriesPerRequest: 0, lazyConnect: true });
      await probe.connect();
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');
      expect(await probe.ping()).toBe('PONG');

      server.pause();
      probe.options.commandTimeout = 500;
      await expect(probe.get('k')).rejects.toThrow(/timed out/i);
      server.resume();
      // Both connections made before the pause answer again, the probe's included.
      expect(await client.get('k')).toBe('v');
      probe.options.commandTimeout = 30_000;
      expect(await probe.get('k')).toBe('v');

      await server.restart();
      const fresh = new Redis(server.url, { commandTimeout: 30_000, maxRetriesPerRequest: 0, lazyConnect: true });
      await fresh.connect();
      expect(await fresh.get('k')).toBeNull();
      fresh.disconnect();
      probe.disconnect();
      client.disconnect();
    } finally {
      await server.stop();
    }
  });

  test('a 3-master cluster spreads keys over every master', async () => {
    const cluster = await RedisCluster.start();
    try {
      expect(cluster.masters()).toHaveLength(3);
      const client = new Cluster(cluster.startupNodes);
      const keys = Array.from({ length: 30 }, (_, i) => `harness:${i}`);
      for (const key of keys) await client.set(key, '1');
      const owners = new Set(keys.map((k) => cluster.masterFor(k).port));
      expect(owners.size).toBe(3);
      client.disconnect();
    } finally {
      await cluster.stop();
    }
    // masterFor() shells out to redis-cli a few times per key: about 200 processes, slow with both cores busy.
  }, 240_000);

  test('PostgreSQL starts from initdb on a free port, and a killed server refuses connections until restarted', async () => {
    const pg = await PostgresServer.start();
    try {
      expect(pg.port).not.toBe(5432);
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      const { rows } = await client.query<{ answer: number }>('select 41 + 1 as answer');
      expect(rows[0].answer).toBe(42);
      await client.end().catch(() => undefined);

      await pg.kill();
      await expect(new Client({ connectionString: pg.url, connectionTimeoutMillis: 500 }).connect()).rejects.toThrow();

      await pg.restart();
      const again = new Client({ connectionString: pg.url });
      await again.connect();
      expect((await again.query('select 1 as one')).rows[0].one).toBe(1);
      await again.end();
    } finally {
      await pg.stop();
    }
  });
});
