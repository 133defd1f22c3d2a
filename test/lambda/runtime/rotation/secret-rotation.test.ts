/**
 * The rotation steps one at a time, over the same AWS fakes as the walk (the ElastiCache fake's data
 * plane is not needed here: only what the rotator sees of the replication group matters).
 */
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type Redis from 'ioredis';
import { advanceCacheAuthRotation, advanceOriginVerifyRotation, parseCacheAuthSecret, RotationStep } from '../../../../lambda/runtime/rotation/secret-rotation';
import { parseOriginVerifySecret } from '../../../../lambda/runtime/http/origin-verify';
import { Clock, FakeCloudFront, FakeElastiCache, FakeSecretsManager } from './support';

const secretsMock = mockClient(SecretsManagerClient);
const cloudFrontMock = mockClient(CloudFrontClient);
const elastiCacheMock = mockClient(ElastiCacheClient);
const MINUTE = 60_000;
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf';

afterAll(() => {
  secretsMock.restore();
  cloudFrontMock.restore();
  elastiCacheMock.restore();
});

beforeEach(() => {
  secretsMock.reset();
  cloudFrontMock.reset();
  elastiCacheMock.reset();
});

describe('advanceOriginVerifyRotation', () => {
  function setUp() {
    const clock = new Clock(Date.UTC(2026, 11, 6));
    const secrets = new FakeSecretsManager(secretsMock, clock);
    secrets.put(SECRET, 'old-value');
    const cloudFront = new FakeCloudFront(cloudFrontMock, clock, 'E1', 'old-value', 2, 10 * MINUTE);
    const advance = (force = false) =>
      advanceOriginVerifyRotation({ secrets: new SecretsManagerClient({}), cloudFront: new CloudFrontClient({}), secretId: SECRET, distributionId: 'E1', rotationPeriodMs: 30 * 24 * 60 * MINUTE, force, now: () => clock.now, generate: () => 'new-value' });
    return { clock, secrets, cloudFront, advance };
  }

  test('is idle until the period has passed, then starts; CloudFront is switched only after the verifiers refresh', async () => {
    const { clock, secrets, cloudFront, advance } = setUp();
    expect(await advance()).toBe(RotationStep.IDLE);
    clock.now += 30 * 24 * 60 * MINUTE;
    expect(await advance()).toBe(RotationStep.STARTED);
    expect(parseOriginVerifySecret(secrets.current(SECRET))).toEqual({ current: 'new-value', previous: 'old-value', rotatedAt: clock.now });
    clock.now += 5 * MINUTE - 1;
    expect(await advance()).toBe(RotationStep.WAITING);
    expect(cloudFront.configuredHeader).toBe('old-value');
    clock.now += 1;
    expect(await advance()).toBe(RotationStep.CDN_UPDATED);
    expect(cloudFront.configuredHeader).toBe('new-value');
    // While the previous value may still be sent, even a forced rotation waits.
    expect(await advance(true)).toBe(RotationStep.WAITING);
    clock.now += 60 * MINUTE;
    expect(await advance()).toBe(RotationStep.IDLE);
  });

  test('refuses a window no longer than the refresh interval (CloudFront could switch before every verifier knows the value)', async () => {
    const { clock } = setUp();
    await expect(
      advanceOriginVerifyRotation({ secrets: new SecretsManagerClient({}), cloudFront: new CloudFrontClient({}), secretId: SECRET, distributionId: 'E1', rotationPeriodMs: 1, verifierRefreshMs: 60_000, previousValueWindowMs: 60_000, now: () => clock.now }),
    ).rejects.toThrow('previousValueWindowMs (60000) must exceed verifierRefreshMs (60000)');
  });
});

describe('advanceCacheAuthRotation', () => {
  const noDataPlane = { call: async () => 'OK' } as unknown as Redis;

  function setUp() {
    const clock = new Clock(Date.UTC(2026, 11, 6));
    const secrets = new FakeSecretsManager(secretsMock, clock);
    secrets.put(SECRET, JSON.stringify({ current: 'token-old' }));
    const elastiCache = new FakeElastiCache(elastiCacheMock, clock, 'group', noDataPlane, MINUTE);
    const advance = () =>
      advanceCacheAuthRotation({ secrets: new SecretsManagerClient({}), elastiCache: new ElastiCacheClient({}), secretId: SECRET, replicationGroupId: 'group', rotationPeriodMs: 30 * 24 * 60 * MINUTE, clientGraceMs: 15 * MINUTE, force: true, now: () => clock.now, generate: () => 'token-new' });
    return { clock, secrets, elastiCache, advance };
  }

  test('sends ROTATE again when it was not applied (the call after writing the pending token failed)', async () => {
    const { clock, secrets, elastiCache, advance } = setUp();
    elastiCache.failNextModify = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    await expect(advance()).rejects.toThrow('throttled');
    expect(parseCacheAuthSecret(secrets.current(SECRET))).toMatchObject({ current: 'token-old', pending: 'token-new' });
    clock.now += MINUTE;
    expect(await advance()).toBe(RotationStep.WAITING);
    clock.now += MINUTE;
    await elastiCache.tick();
    expect(elastiCache.applied).toEqual(['ROTATE']);
    expect(await advance()).toBe(RotationStep.TOKEN_PROMOTED);
    expect(parseCacheAuthSecret(secrets.current(SECRET))).toMatchObject({ current: 'token-new', previous: 'token-old', pending: undefined });
  });

  test('revokes the previous token only after the grace, then is idle', async () => {
    const { clock, secrets, elastiCache, advance } = setUp();
    expect(await advance()).toBe(RotationStep.STARTED);
    clock.now += MINUTE;
    await elastiCache.tick();
    expect(await advance()).toBe(RotationStep.TOKEN_PROMOTED);
    clock.now += 15 * MINUTE - 1;
    expect(await advance()).toBe(RotationStep.WAITING);
    clock.now += 1;
    expect(await advance()).toBe(RotationStep.PREVIOUS_REVOKED);
    expect(parseCacheAuthSecret(secrets.current(SECRET))).toMatchObject({ current: 'token-new', previous: undefined });
    expect(await advance()).toBe(RotationStep.WAITING);
    clock.now += MINUTE;
    await elastiCache.tick();
    expect(elastiCache.applied).toEqual(['ROTATE', 'SET']);
  });
});
