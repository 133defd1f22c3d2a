/**
 * Secret rotator: on its schedule (and when invoked with `{"force": true}`), takes the next step of
 * the `x-origin-verify` rotation and of the cache AUTH token rotation (see
 * `lambda/runtime/rotation/secret-rotation.ts`). Each invocation takes at most one step per secret,
 * so the steps are one schedule interval apart. Runs outside the VPC: it calls only AWS APIs.
 *
 * Environment (set by `SecretRotator`): ROTATION_PERIOD_SECONDS, and for each rotation it does,
 * ORIGIN_VERIFY_SECRET_ARN + DISTRIBUTION_ID and CACHE_AUTH_SECRET_ARN + REPLICATION_GROUP_ID +
 * CACHE_CLIENT_GRACE_SECONDS.
 */
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { readIntegerEnv, readStringEnv } from '../runtime/invalidation/env';
import { createObservability } from '../runtime/observability';
import { advanceCacheAuthRotation, advanceOriginVerifyRotation, RotationStep } from '../runtime/rotation/secret-rotation';

const env = process.env;
const rotationPeriodMs = readIntegerEnv(env, 'ROTATION_PERIOD_SECONDS', 30 * 86_400) * 1000;
const { logger } = createObservability({ serviceName: 'secret-rotator' });
const secrets = new SecretsManagerClient({});
// The CloudFront API is global, served from us-east-1.
const cloudFront = new CloudFrontClient({ region: 'us-east-1' });
const elastiCache = new ElastiCacheClient({});

/** A scheduled event, or `{"force": true}` to start a rotation of each secret now (when none is under way). */
export interface RotatorEvent {
  readonly force?: boolean;
}

export async function handler(event: RotatorEvent, context: Context): Promise<Record<string, RotationStep>> {
  logger.addContext(context);
  const force = event?.force === true;
  const steps: Record<string, RotationStep> = {};
  if (env.ORIGIN_VERIFY_SECRET_ARN) {
    steps.originVerify = await advanceOriginVerifyRotation({
      secrets,
      cloudFront,
      secretId: env.ORIGIN_VERIFY_SECRET_ARN,
      distributionId: readStringEnv(env, 'DISTRIBUTION_ID'),
      rotationPeriodMs,
      force,
      now: Date.now,
    });
  }
  if (env.CACHE_AUTH_SECRET_ARN) {
    steps.cacheAuth = await advanceCacheAuthRotation({
      secrets,
      elastiCache,
      secretId: env.CACHE_AUTH_SECRET_ARN,
      replicationGroupId: readStringEnv(env, 'REPLICATION_GROUP_ID'),
      rotationPeriodMs,
      clientGraceMs: readIntegerEnv(env, 'CACHE_CLIENT_GRACE_SECONDS', 900) * 1000,
      force,
      now: Date.now,
    });
  }
  logger.info('secret rotation step', { force, ...steps });
  return steps;
}
