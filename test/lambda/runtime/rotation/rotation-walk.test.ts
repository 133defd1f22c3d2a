/**
 * A whole rotation of both shared secrets with requests flowing: CloudFront's edges send
 * `x-origin-verify` to API sandboxes (warm ones from before the rotation and new ones starting
 * throughout), each sandbox checks it with the runtime's OriginVerifier and then uses the real
 * Redis with the runtime's cache client, authenticating with the token from the secret. The rotation
 * driver is the rotator's core over mocked AWS clients; ElastiCache's ROTATE/SET are a second ACL
 * password and `resetpass` on the real Redis. Someone sends wrong headers all along.
 *
 * The naive variant is the documented procedure before this change ("put a new value, then
 * redeploy": CloudFormation re-resolves neither the origin header nor the AUTH token).
 */
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import { CacheClient, isWrongPassword, OriginVerifier, resolveCacheConfig, secretFromSecretsManager } from 'cache-pyramid/runtime';
import { advanceCacheAuthRotation, advanceOriginVerifyRotation, RotationStep } from '../../../../lambda/runtime/rotation/secret-rotation';
import { RedisServer } from '../../../support/servers';
import { Clock, FakeCloudFront, FakeElastiCache, FakeSecretsManager } from './support';

const ORIGIN_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:origin-verify-AbCdEf';
const AUTH_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:cache-auth-AbCdEf';
const DISTRIBUTION_ID = 'E2EXAMPLE';
const GROUP_ID = 'cache-pyramid-test';
const MINUTE = 60_000;
const VERIFIER_REFRESH_MS = 5 * MINUTE;
const PREVIOUS_WINDOW_MS = 60 * MINUTE;
const CLIENT_GRACE_MS = 10 * MINUTE;
const EDGES = 4;
/** Bound on a client's (re)authentication: reconnect backoff plus a secret re-read, on a loaded machine. */
const AUTH_WAIT_MS = 10_000;

const secretsMock = mockClient(SecretsManagerClient);
const cloudFrontMock = mockClient(CloudFrontClient);
const elastiCacheMock = mockClient(ElastiCacheClient);

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
  secretsMock.restore();
  cloudFrontMock.restore();
  elastiCacheMock.restore();
});

interface Sandbox {
  readonly verifier: OriginVerifier;
  readonly cache: CacheClient;
  /** Reads of the origin-verify secret by this sandbox. */
  verifierReads: number;
}

enum Outcome {
  OK = 'ok',
  FORBIDDEN = 'forbidden (403)',
  CACHE_AUTH_REFUSED = 'cache refused the AUTH token',
}

/** A world: the fakes over a fresh Redis password and fresh secrets, and the sandboxes started in it. */
async function world(origin: string, token: string) {
  secretsMock.reset();
  cloudFrontMock.reset();
  elastiCacheMock.reset();
  await admin.call('ACL', 'SETUSER', 'default', 'on', 'resetpass', `>${token}`);
  const clock = new Clock(Date.UTC(2026, 11, 6, 12));
  const secrets = new FakeSecretsManager(secretsMock, clock);
  secrets.put(ORIGIN_SECRET, origin);
  secrets.put(AUTH_SECRET, token);
  const cloudFront = new FakeCloudFront(cloudFrontMock, clock, DISTRIBUTION_ID, origin, EDGES, 10 * MINUTE);
  const elastiCache = new FakeElastiCache(elastiCacheMock, clock, GROUP_ID, admin, 90_000);
  const sandboxes: Sandbox[] = [];

  async function coldStart(): Promise<Sandbox> {
    const readSecret = secretFromSecretsManager(new SecretsManagerClient({ region: 'eu-west-1' }));
    const sandbox: Sandbox = {
      verifier: new OriginVerifier(
        async () => {
          sandbox.verifierReads += 1;
          return readSecret(ORIGIN_SECRET);
        },
        { now: () => clock.now, refreshIntervalMs: VERIFIER_REFRESH_MS, previousValueWindowMs: PREVIOUS_WINDOW_MS },
      ),
      cache: CacheClient.connect(
        await resolveCacheConfig({ CACHE_ENDPOINT: `${server.host}:${server.port}`, CACHE_TLS: 'false', CACHE_AUTH_SECRET_ARN: AUTH_SECRET }, readSecret, {
          connectTimeoutMs: 2_000,
          commandTimeoutMs: 1_000,
        }),
      ),
      verifierReads: 0,
    };
    await sandbox.verifier.load();
    sandboxes.push(sandbox);
    return sandbox;
  }

  async function close(): Promise<void> {
    await Promise.all(sandboxes.map((s) => s.cache.quit()));
  }

  return { clock, secrets, cloudFront, elastiCache, sandboxes, coldStart, close };
}

/**
 * Resolves true once `redis` is ready (with `reconnecting`, the next time it is), false when it keeps
 * being refused AUTH or the wait is over.
 */
function authenticated(redis: Redis, reconnecting = false): Promise<boolean> {
  if (redis.status === 'ready' && !reconnecting) return Promise.resolve(true);
  return new Promise((resolve) => {
    let refusals = 0;
    const done = (result: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(result);
    };
    const onReady = () => done(true);
    const onError = (error: unknown) => {
      if (isWrongPassword(error) && ++refusals >= 4) done(false);
    };
    const timer = setTimeout(() => done(false), AUTH_WAIT_MS);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

/** One request through a sandbox: the origin lock, then a write and a read of the cache. */
async function request(sandbox: Sandbox, header: string, key: string): Promise<Outcome> {
  if (!(await sandbox.verifier.verify(header))) return Outcome.FORBIDDEN;
  const redis = sandbox.cache.redis as Redis;
  for (let attempt = 1; ; attempt++) {
    if (!(await authenticated(redis, attempt > 1))) return Outcome.CACHE_AUTH_REFUSED;
    try {
      await redis.set(key, header.slice(0, 8), 'PX', 60_000);
      await redis.get(key);
      return Outcome.OK;
    } catch (error) {
      if (isWrongPassword(error) || /NOAUTH/.test(String(error))) return Outcome.CACHE_AUTH_REFUSED;
      // The connection was dropped under the request (the test drops them on purpose): retry on the next one.
      if (attempt === 3) throw error;
    }
  }
}

function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

describe('rotating the origin-verify secret and the cache AUTH token', () => {
  test('the whole rotation rejects no legitimate request, and the previous values are refused after it', async () => {
    const oldHeader = 'OldHeaderValue0123456789abcdefghijklmnopqrstuvwx';
    const oldToken = 'OldTokenValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO';
    const w = await world(oldHeader, oldToken);
    try {
      const warm = [await w.coldStart(), await w.coldStart()];
      const outcomes: Outcome[] = [];
      const originSteps = new Set<RotationStep>();
      const cacheSteps = new Set<RotationStep>();
      const rotationStartedAt = w.clock.now + MINUTE;
      let done = false;
      let tick = 0;
      for (; tick < 120 && !done; tick++) {
        w.clock.now += MINUTE;
        await w.elastiCache.tick();
        const force = tick === 0;
        originSteps.add(
          await advanceOriginVerifyRotation({
            secrets: new SecretsManagerClient({}),
            cloudFront: new CloudFrontClient({}),
            secretId: ORIGIN_SECRET,
            distributionId: DISTRIBUTION_ID,
            rotationPeriodMs: 30 * 24 * 60 * MINUTE,
            verifierRefreshMs: VERIFIER_REFRESH_MS,
            previousValueWindowMs: PREVIOUS_WINDOW_MS,
            force,
            now: () => w.clock.now,
          }),
        );
        cacheSteps.add(
          await advanceCacheAuthRotation({
            secrets: new SecretsManagerClient({}),
            elastiCache: new ElastiCacheClient({}),
            secretId: AUTH_SECRET,
            replicationGroupId: GROUP_ID,
            rotationPeriodMs: 30 * 24 * 60 * MINUTE,
            clientGraceMs: CLIENT_GRACE_MS,
            force,
            now: () => w.clock.now,
          }),
        );
        // New sandboxes start throughout; the two warm ones stay from before the rotation to the end.
        if (tick % 4 === 0) await w.coldStart();
        // A failover or a replaced node now and then: every client authenticates again.
        if (tick % 6 === 5) await w.elastiCache.dropClientConnections();
        for (const sandbox of w.sandboxes) await sandbox.verifier.verify(`bogus-${tick}`);
        for (let edge = 0; edge < EDGES; edge++) {
          const sandbox = w.sandboxes[(tick + edge) % w.sandboxes.length];
          outcomes.push(await request(sandbox, w.cloudFront.headerSentBy(edge), `rotation:walk:${edge}`));
        }
        const originDone = w.cloudFront.deployed && w.cloudFront.configuredHeader !== oldHeader && w.clock.now >= rotationStartedAt + PREVIOUS_WINDOW_MS;
        done = originDone && w.elastiCache.applied.includes('SET');
      }

      expect(done).toBe(true);
      expect(tally(outcomes)).toEqual({ [Outcome.OK]: tick * EDGES });
      expect([...originSteps]).toEqual(expect.arrayContaining([RotationStep.STARTED, RotationStep.WAITING, RotationStep.CDN_UPDATED]));
      expect([...cacheSteps]).toEqual(expect.arrayContaining([RotationStep.STARTED, RotationStep.TOKEN_PROMOTED, RotationStep.PREVIOUS_REVOKED]));
      expect(w.elastiCache.applied).toEqual(['ROTATE', 'SET']);

      // After the window: the previous header is refused by warm and new sandboxes alike…
      const newHeader = w.cloudFront.configuredHeader;
      const fresh = await w.coldStart();
      for (const sandbox of [...warm, fresh]) {
        expect(await sandbox.verifier.verify(oldHeader)).toBe(false);
        expect(await sandbox.verifier.verify(newHeader)).toBe(true);
      }
      // …and so is the previous AUTH token.
      const stale = new Redis({ host: server.host, port: server.port, password: oldToken, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      const refusal = new Promise<unknown>((resolve) => stale.once('error', resolve));
      await stale.connect().catch(() => undefined);
      expect(String(await refusal)).toMatch(/WRONGPASS/);
      stale.disconnect();

      // The wrong headers never made a sandbox read the secret more than once per refresh interval.
      const elapsedMs = w.clock.now - rotationStartedAt + MINUTE;
      for (const sandbox of warm) expect(sandbox.verifierReads).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / VERIFIER_REFRESH_MS));
    } finally {
      await w.close();
    }
  });

  test('naive: putting a new value and redeploying rejects CloudFront at new and warm sandboxes and locks new clients out of the cache', async () => {
    const w = await world('OldHeaderValue0123456789abcdefghijklmnopqrstuvwx', 'OldTokenValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO');
    try {
      const warm = await w.coldStart();
      const header = w.cloudFront.headerSentBy(0);
      expect(await request(warm, header, 'rotation:naive')).toBe(Outcome.OK);

      // "Put a new value, then redeploy": the dynamic references are not re-resolved, so CloudFront
      // and ElastiCache keep the old values.
      w.clock.now += MINUTE;
      w.secrets.put(ORIGIN_SECRET, 'NewHeaderValue0123456789abcdefghijklmnopqrstuvwx');
      w.secrets.put(AUTH_SECRET, 'NewTokenValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO');
      const outcomes: Outcome[] = [];
      const cold = await w.coldStart();
      outcomes.push(await request(cold, w.cloudFront.headerSentBy(0), 'rotation:naive'));
      // The cache as a new sandbox meets it (the origin lock aside): the token was never given to ElastiCache.
      outcomes.push((await authenticated(cold.cache.redis as Redis)) ? Outcome.OK : Outcome.CACHE_AUTH_REFUSED);
      // A wrong header after the refresh interval makes the warm sandbox re-read, and refuse CloudFront too.
      w.clock.now += VERIFIER_REFRESH_MS;
      await warm.verifier.verify('bogus');
      outcomes.push(await request(warm, w.cloudFront.headerSentBy(1), 'rotation:naive'));

      expect(tally(outcomes)).toEqual({ [Outcome.FORBIDDEN]: 2, [Outcome.CACHE_AUTH_REFUSED]: 1 });
    } finally {
      await w.close();
    }
  });
});
