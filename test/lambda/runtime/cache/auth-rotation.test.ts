/**
 * The cache client following an AUTH token rotation, against a real Redis whose `default` user's
 * passwords are changed as ElastiCache's ROTATE and SET change them.
 */
import Redis from 'ioredis';
import { CacheClient, type CachePasswords } from 'cache-pyramid/runtime';
import { RedisServer } from '../../../support/servers';

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  const bootstrap = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  await bootstrap.connect();
  await bootstrap.call('ACL', 'SETUSER', 'admin', 'on', '>admin-password-for-tests', '~*', '&*', '+@all');
  bootstrap.disconnect();
  admin = new Redis({ host: server.host, port: server.port, username: 'admin', password: 'admin-password-for-tests' });
});

afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

/** Only `passwords` authenticate the default user from now on (SET; two of them: ROTATE). */
async function serverAccepts(...passwords: string[]): Promise<void> {
  await admin.call('ACL', 'SETUSER', 'default', 'on', 'resetpass', ...passwords.map((p) => `>${p}`));
}

function connect(passwords: CachePasswords, refreshPasswords?: () => Promise<CachePasswords>): CacheClient {
  return CacheClient.connect({
    host: server.host,
    port: server.port,
    password: passwords.password,
    alternatePasswords: passwords.alternatePasswords ?? [],
    refreshPasswords,
    connectTimeoutMs: 2_000,
    commandTimeoutMs: 1_000,
  });
}

/** Generous bound on a (re)connection with a retry and a secret re-read, on a loaded machine. */
const READY_MS = 10_000;

describe('following an AUTH token rotation', () => {
  test('a client whose current token was refused authenticates with its other known token', async () => {
    await serverAccepts('token-old');
    const client = connect({ password: 'token-new', alternatePasswords: ['token-old'] });
    try {
      expect(await client.ready(READY_MS)).toBe(true);
      expect(await client.redis.ping()).toBe('PONG');
    } finally {
      await client.quit();
    }
  });

  test('a warm client whose token was revoked by SET re-reads the secret at its next connect', async () => {
    await serverAccepts('token-a');
    let reads = 0;
    const client = connect({ password: 'token-a' }, async () => {
      reads += 1;
      return { password: 'token-b', alternatePasswords: ['token-a'] };
    });
    try {
      expect(await client.ready(READY_MS)).toBe(true);
      await serverAccepts('token-a', 'token-b');
      await serverAccepts('token-b');
      await admin.call('CLIENT', 'KILL', 'USER', 'default');
      const deadline = Date.now() + READY_MS;
      while (client.redis.status !== 'ready' || (await client.redis.ping().catch(() => 'down')) !== 'PONG') {
        if (Date.now() > deadline) throw new Error(`client did not reconnect: ${client.redis.status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(reads).toBe(1);
    } finally {
      await client.quit();
    }
  });

  test('naive: a client that only knows the token it started with stays locked out after SET', async () => {
    await serverAccepts('token-b');
    const client = CacheClient.connect({ host: server.host, port: server.port, password: 'token-a', connectTimeoutMs: 2_000, commandTimeoutMs: 1_000 });
    const refusals: unknown[] = [];
    client.redis.on('error', (error: unknown) => refusals.push(error));
    try {
      const deadline = Date.now() + READY_MS;
      while (refusals.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(refusals.length).toBeGreaterThanOrEqual(3);
      expect(String(refusals[0])).toMatch(/WRONGPASS/);
      expect(client.redis.status).not.toBe('ready');
    } finally {
      client.redis.disconnect();
    }
  });
});
