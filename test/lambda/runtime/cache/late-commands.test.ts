/**
 * A command the CacheClient gave up on (its deadline passed: the server hangs) must never be sent
 * later. The application handles a failed cache write at once — a write-behind profile is applied to
 * PostgreSQL and purged up to its version — so a write-through ioredis delivers afterwards lands over
 * newer state. ioredis does that with its defaults: it resends the commands in flight when a
 * connection drops, once reconnected (standalone, below), and retries them after a lost connection or
 * CLUSTERDOWN once the slot map is refreshed (cluster: in the unplanned-failover suite a profile's
 * previous version arrived hundreds of milliseconds late, after the purge of a newer change, and every
 * process read it from Redis). `CacheClient.connect` turns every late send off (redis-client.test.ts
 * checks the cluster settings; the 3-master test cluster has no replica to take over before the
 * retries run out, so the late delivery is shown here on a standalone server whose connection drops
 * while it holds writes). The naive client is the same one with ioredis' resend settings as they were.
 */
import Redis from 'ioredis';
import { CacheClient } from '../../../../lambda/runtime/cache';
import { CacheUnavailableError } from '../../../../lambda/runtime/errors';
import { CacheKeys } from '../../../../lambda/runtime/keys';
import { RedisServer } from '../../../support/servers';

describe('a cache command given up on at its deadline', () => {
  let server: RedisServer;
  const clients: CacheClient[] = [];
  let run = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const client of clients) client.redis.disconnect();
    await server?.stop();
  });

  async function connect(naive: boolean): Promise<CacheClient> {
    const client = CacheClient.connect({ url: server.url, commandTimeoutMs: 50, connectTimeoutMs: 1_000 });
    clients.push(client);
    expect(await client.ready(30_000)).toBe(true);
    // ioredis' settings before the fix (read when a connection closes and when it is ready again).
    if (naive) Object.assign(client.redis.options, { maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: true });
    return client;
  }

  /**
   * Writes a key while the server holds every write (`CLIENT PAUSE … WRITE`, as a master does during
   * a failover); the connection is then lost with the write unexecuted (`CLIENT KILL`: the held
   * command goes with it) and the server takes writes again. Returns what the key holds after.
   */
  async function writeGivenUp(naive: boolean): Promise<string | null> {
    const client = await connect(naive);
    run += 1;
    const key = new CacheKeys({ namespace: `late${run}` }).product(7);
    const inspector = new Redis(server.url);
    try {
      await inspector.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      try {
        await expect(client.set(key, 'written after the caller gave up', 60_000)).rejects.toThrow(CacheUnavailableError);
        expect(await inspector.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')).toBeGreaterThanOrEqual(1);
      } finally {
        await inspector.call('CLIENT', 'UNPAUSE');
      }
      // Long enough for the client to reconnect and resend what it kept.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return await inspector.get(key);
    } finally {
      inspector.disconnect();
    }
  }

  test('it is never sent later: the key stays unwritten', async () => {
    expect(await writeGivenUp(false)).toBeNull();
  }, 30_000);

  test('naive: ioredis resends it once reconnected, after the caller handled the failure', async () => {
    expect(await writeGivenUp(true)).toBe('written after the caller gave up');
  }, 30_000);
});
