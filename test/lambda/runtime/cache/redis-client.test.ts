import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import Redis, { Cluster } from 'ioredis';
import {
  CacheClient,
  createRedis,
  parseAuthSecret,
  resolveCacheConfig,
  secretFromSecretsManager,
} from '../../../../lambda/runtime/cache';
import { reconnectDelayMs } from '../../../../lambda/runtime/cache/redis-client';
import { RedisServer } from '../../../support/servers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-auth-AbCdEf';
const noSecret = async (arn: string): Promise<string> => {
  throw new Error(`no secret expected, asked for ${arn}`);
};

describe('resolveCacheConfig', () => {
  test('REDIS_URL wins over the AWS variables and carries TLS and credentials', async () => {
    const config = await resolveCacheConfig(
      { REDIS_URL: 'rediss://app:s%40cret@cache.local:6380', CACHE_ENDPOINT: 'ignored:6379', CACHE_AUTH_SECRET_ARN: SECRET_ARN },
      noSecret,
    );
    expect(config).toEqual({ url: 'rediss://app:s%40cret@cache.local:6380' });
  });

  test('REDIS_URL with CACHE_CLUSTER_MODE=true becomes the startup node of a cluster', async () => {
    const config = await resolveCacheConfig({ REDIS_URL: 'redis://127.0.0.1:7000', CACHE_CLUSTER_MODE: 'true' }, noSecret);
    expect(config).toEqual({ clusterNodes: [{ host: '127.0.0.1', port: 7000 }], tls: false, username: undefined, password: undefined });
  });

  test('the ElastiCache variables give TLS, cluster mode and the AUTH token from the secret', async () => {
    const asked: string[] = [];
    const config = await resolveCacheConfig(
      {
        CACHE_ENDPOINT: 'clustercfg.app.abc123.euw1.cache.amazonaws.com:6379',
        CACHE_TLS: 'true',
        CACHE_CLUSTER_MODE: 'true',
        CACHE_AUTH_SECRET_ARN: SECRET_ARN,
      },
      async (arn) => {
        asked.push(arn);
        return '{"authToken":"tok-123"}';
      },
      { commandTimeoutMs: 80 },
    );
    expect(asked).toEqual([SECRET_ARN]);
    expect(config).toEqual({
      commandTimeoutMs: 80,
      clusterNodes: [{ host: 'clustercfg.app.abc123.euw1.cache.amazonaws.com', port: 6379 }],
      tls: true,
      username: undefined,
      password: 'tok-123',
      refreshPasswords: expect.any(Function),
    });
  });

  test('a cluster-mode-disabled endpoint without AUTH is a standalone host', async () => {
    expect(await resolveCacheConfig({ CACHE_ENDPOINT: 'master.app.cache.amazonaws.com:6379', CACHE_TLS: 'false' }, noSecret)).toEqual({
      host: 'master.app.cache.amazonaws.com',
      port: 6379,
      tls: false,
      username: undefined,
      password: undefined,
    });
  });

  test.each([
    [{}, 'cache is not configured: set REDIS_URL, or CACHE_ENDPOINT'],
    [{ CACHE_ENDPOINT: 'no-port' }, 'CACHE_ENDPOINT must be host:port, got "no-port"'],
    [{ CACHE_ENDPOINT: 'h:70000' }, 'cache config CACHE_ENDPOINT port must be 1-65535, got 70000'],
    [{ CACHE_ENDPOINT: 'h:6379', CACHE_TLS: 'yes' }, 'CACHE_TLS must be "true" or "false", got "yes"'],
    [{ REDIS_URL: 'redis://h:1', CACHE_CLUSTER_MODE: '1' }, 'CACHE_CLUSTER_MODE must be "true" or "false", got "1"'],
    [{ REDIS_URL: 'http://h:1', CACHE_CLUSTER_MODE: 'true' }, 'REDIS_URL must use redis:// or rediss://, got "http:"'],
  ])('rejects %j', async (env, message) => {
    await expect(resolveCacheConfig(env, noSecret)).rejects.toThrow(message);
  });
});

describe('parseAuthSecret', () => {
  test.each([
    ['a raw token', ' tok-raw \n', { password: 'tok-raw' }],
    ['JSON with password', '{"password":"p"}', { password: 'p', username: undefined }],
    ['JSON with authToken', '{"authToken":"a"}', { password: 'a', username: undefined }],
    ['an RBAC user', '{"username":"app","password":"p"}', { username: 'app', password: 'p' }],
    ['a token mid-rotation', '{"current":"new","previous":"old","pending":"next"}', { username: undefined, password: 'new', alternatePasswords: ['old', 'next'] }],
  ])('reads %s', (_what, secret, expected) => {
    expect(parseAuthSecret(secret)).toEqual(expected);
  });

  test.each([
    ['{"password":', 'cache AUTH secret looks like JSON but does not parse'],
    ['{"user":"x"}', 'cache AUTH secret JSON must hold a non-empty "current", "password" or "authToken" string'],
  ])('rejects %s', (secret, message) => {
    expect(() => parseAuthSecret(secret)).toThrow(message);
  });
});

describe('secretFromSecretsManager', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  test('returns the SecretString of the ARN it is given', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: '{"password":"from-sm"}' });
    const read = secretFromSecretsManager(new SecretsManagerClient({ region: 'eu-west-1' }));
    const config = await resolveCacheConfig({ CACHE_ENDPOINT: 'h:6379', CACHE_AUTH_SECRET_ARN: SECRET_ARN }, read);
    expect(config.password).toBe('from-sm');
  });

  test('a binary secret is a clear error', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) });
    const read = secretFromSecretsManager(new SecretsManagerClient({ region: 'eu-west-1' }));
    await expect(read(SECRET_ARN)).rejects.toThrow(`secret ${SECRET_ARN} has no SecretString`);
  });
});

describe('createRedis', () => {
  test('builds a fail-fast standalone client: no offline queue, bounded timeouts and retries', () => {
    const redis = createRedis({ url: 'rediss://u:p@cache.local:6380/2' }) as Redis;
    try {
      expect(redis).toBeInstanceOf(Redis);
      expect(redis.options).toMatchObject({
        host: 'cache.local',
        port: 6380,
        db: 2,
        username: 'u',
        password: 'p',
        tls: {},
        enableOfflineQueue: false,
        connectTimeout: 100,
        // CacheClient enforces the 50 ms itself; ioredis' own timer is the backstop.
        commandTimeout: 1_050,
        maxRetriesPerRequest: 1,
        autoResendUnfulfilledCommands: true,
      });
    } finally {
      redis.disconnect();
    }
  });

  test('CacheClient.connect leaves out the per-command backstop timer (it bounds every command itself) and every late send', () => {
    const client = CacheClient.connect({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 70 });
    try {
      expect((client.redis as Redis).options).toMatchObject({ commandTimeout: undefined, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
      expect(client.commandTimeoutMs).toBe(70);
    } finally {
      client.redis.disconnect();
    }
    const cluster = CacheClient.connect({ clusterNodes: [{ host: '127.0.0.1', port: 1 }] });
    try {
      expect((cluster.redis as Cluster).options).toMatchObject({ retryDelayOnFailover: 0, retryDelayOnClusterDown: 0 });
      expect((cluster.redis as Cluster).options.redisOptions).toMatchObject({ commandTimeout: undefined, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
    } finally {
      cluster.redis.disconnect();
    }
  });

  test('builds a Cluster with DNS passthrough, master reads and TLS/AUTH on every node', () => {
    const cluster = createRedis({ clusterNodes: [{ host: 'cfg.cache.local', port: 6379 }], tls: true, password: 'tok', commandTimeoutMs: 70 }) as Cluster;
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(cluster.options).toMatchObject({ enableOfflineQueue: false, scaleReads: 'master', slotsRefreshTimeout: 1_000, retryDelayOnFailover: 100, retryDelayOnClusterDown: 100 });
      expect(cluster.options.redisOptions).toMatchObject({ tls: {}, password: 'tok', commandTimeout: 1_070, connectTimeout: 100 });
      const resolved: string[] = [];
      cluster.options.dnsLookup!('node-1.cache.local', (_error, address) => resolved.push(address));
      expect(resolved).toEqual(['node-1.cache.local']);
    } finally {
      cluster.disconnect();
    }
  });

  test.each([
    [{}, 'cache config needs exactly one of url, host, clusterNodes; got none'],
    [{ url: 'redis://h', host: 'h' }, 'cache config needs exactly one of url, host, clusterNodes; got url, host'],
    [{ host: 'h', commandTimeoutMs: 0 }, 'cache config commandTimeoutMs must be a positive number of milliseconds, got 0'],
    [{ clusterNodes: [] }, 'cache config clusterNodes must not be empty'],
    [{ url: 'redis://h/x' }, 'REDIS_URL database must be a non-negative integer, got "x"'],
  ])('rejects %j', (config, message) => {
    expect(() => createRedis(config)).toThrow(message);
  });

  test('reconnect backoff doubles from 50 ms and is capped at 2 s', () => {
    expect(reconnectDelayMs(1, () => 1)).toBe(50);
    expect(reconnectDelayMs(2, () => 1)).toBe(100);
    expect(reconnectDelayMs(30, () => 1)).toBe(2_000);
    expect(reconnectDelayMs(30, () => 0)).toBe(1_000);
  });
});

describe('AUTH against a real server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
    server.cli('CONFIG', 'SET', 'requirepass', 'tok-secret');
  });
  afterAll(() => server.stop());

  test('the token from the secret authenticates; a wrong one makes every read a cache error, not a crash', async () => {
    const good = CacheClient.connect(
      await resolveCacheConfig({ CACHE_ENDPOINT: `127.0.0.1:${server.port}`, CACHE_AUTH_SECRET_ARN: SECRET_ARN }, async () => 'tok-secret', {
        commandTimeoutMs: 1_000,
        connectTimeoutMs: 1_000,
      }),
    );
    const bad = CacheClient.connect({ host: '127.0.0.1', port: server.port, password: 'wrong', commandTimeoutMs: 200, connectTimeoutMs: 200 });
    try {
      expect(await good.ready(5_000)).toBe(true);
      expect(await good.set('auth:k', 'v', 10_000)).toBe(true);
      expect(await good.get('auth:k')).toBe('v');
      await expect(bad.get('auth:k')).rejects.toThrow('cache GET failed');
    } finally {
      await good.quit();
      await bad.quit();
    }
  });
});
