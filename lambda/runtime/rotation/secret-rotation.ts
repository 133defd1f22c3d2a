/**
 * Rotation of the two shared secrets without rejecting a legitimate request. Each call of an
 * `advance…` function looks at the secret and at the AWS resource that uses it and takes at most one
 * safe step; the secret rotator function calls both on a schedule (and once more when an operator
 * asks for a rotation), so a rotation is a few invocations apart, each step waiting for the one
 * before it to have reached everyone who needs it.
 *
 * `x-origin-verify` (CloudFront → API functions), secret JSON `{current, previous, rotatedAt}`:
 * 1. start: the new value becomes `current`, the old one `previous` (functions accept both for
 *    `previousValueWindowMs` after `rotatedAt`, see `http/origin-verify.ts`);
 * 2. after `verifierRefreshMs` (every sandbox that re-read before step 1 may re-read again), the
 *    distribution's origins are given the new header value; edges switch over while it deploys;
 * 3. the previous value is refused by the functions once the window has passed. A new rotation
 *    starts only after that and once the distribution is deployed.
 *
 * Cache AUTH token (API functions → ElastiCache), secret JSON `{current, previous, pending, …}`:
 * 1. start: the new token is written as `pending`, then ElastiCache is told
 *    `AuthTokenUpdateStrategy: ROTATE` (both tokens valid);
 * 2. once the replication group has applied it (its `AuthTokenLastModifiedDate` is past the
 *    pending token's date), the new token becomes `current` and the old one `previous`: new
 *    clients use the new token, warm ones keep theirs, both valid;
 * 3. after `clientGraceMs`, `SET` makes the new token the only one; a client still on the old one is
 *    refused at its next connect and moves to the new one (`cache/auth-rotation.ts`).
 */
import { randomInt } from 'node:crypto';
import type { CloudFrontClient, DistributionConfig } from '@aws-sdk/client-cloudfront';
import type { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEFAULT_ORIGIN_VERIFY_REFRESH_MS, DEFAULT_PREVIOUS_VALUE_WINDOW_MS, formatOriginVerifySecret, ORIGIN_VERIFY_HEADER, parseOriginVerifySecret } from '../http/origin-verify';

/* eslint-disable @typescript-eslint/no-require-imports */
const cloudFrontSdk = (): typeof import('@aws-sdk/client-cloudfront') => require('@aws-sdk/client-cloudfront');
const elastiCacheSdk = (): typeof import('@aws-sdk/client-elasticache') => require('@aws-sdk/client-elasticache');
const secretsManagerSdk = (): typeof import('@aws-sdk/client-secrets-manager') => require('@aws-sdk/client-secrets-manager');
/* eslint-enable @typescript-eslint/no-require-imports */

/** What one call did. */
export enum RotationStep {
  /** Nothing to do: the last rotation is complete and the next is not due. */
  IDLE = 'idle',
  /** A new value was generated and written (origin verify: as current; cache: as pending, ROTATE sent). */
  STARTED = 'started',
  /** Waiting: the step before has not reached everyone yet (functions, the distribution, the replication group). */
  WAITING = 'waiting',
  /** The distribution's origins were given the current header value. */
  CDN_UPDATED = 'cdn-updated',
  /** ElastiCache applied ROTATE: the new token became current in the secret. */
  TOKEN_PROMOTED = 'token-promoted',
  /** ElastiCache was told SET: only the current token stays valid. */
  PREVIOUS_REVOKED = 'previous-revoked',
}

/** Letters and digits only: valid in an HTTP header and in an ElastiCache AUTH token (which refuses / " @ and spaces). */
export function generateSecretValue(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

interface SecretRead {
  readonly text: string;
  readonly createdAt: number;
}

async function readSecret(secrets: Pick<SecretsManagerClient, 'send'>, secretId: string): Promise<SecretRead> {
  const { GetSecretValueCommand } = secretsManagerSdk();
  const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (response.SecretString === undefined || response.SecretString === '') throw new Error(`secret ${secretId} has no SecretString`);
  return { text: response.SecretString, createdAt: response.CreatedDate?.getTime() ?? 0 };
}

async function writeSecret(secrets: Pick<SecretsManagerClient, 'send'>, secretId: string, text: string): Promise<void> {
  const { PutSecretValueCommand } = secretsManagerSdk();
  await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
}

export interface OriginVerifyRotationOptions {
  readonly secrets: Pick<SecretsManagerClient, 'send'>;
  readonly cloudFront: Pick<CloudFrontClient, 'send'>;
  /** The origin-verify secret. */
  readonly secretId: string;
  readonly distributionId: string;
  /** Time between two rotations. */
  readonly rotationPeriodMs: number;
  /** The functions' `OriginVerifier` refresh interval. @default DEFAULT_ORIGIN_VERIFY_REFRESH_MS */
  readonly verifierRefreshMs?: number;
  /** The functions' `OriginVerifier` previous-value window. @default DEFAULT_PREVIOUS_VALUE_WINDOW_MS */
  readonly previousValueWindowMs?: number;
  /** Start a rotation now if none is under way, whatever the period says. @default false */
  readonly force?: boolean;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** The next value. @default - 48 random letters and digits */
  readonly generate?: () => string;
}

/** Takes the next step of the `x-origin-verify` rotation (see the module comment). */
export async function advanceOriginVerifyRotation(options: OriginVerifyRotationOptions): Promise<RotationStep> {
  const { GetDistributionCommand, UpdateDistributionCommand } = cloudFrontSdk();
  const refreshMs = options.verifierRefreshMs ?? DEFAULT_ORIGIN_VERIFY_REFRESH_MS;
  const windowMs = options.previousValueWindowMs ?? DEFAULT_PREVIOUS_VALUE_WINDOW_MS;
  if (windowMs <= refreshMs) throw new RangeError(`previousValueWindowMs (${windowMs}) must exceed verifierRefreshMs (${refreshMs}): CloudFront is switched only after the functions re-read`);
  const secret = await readSecret(options.secrets, options.secretId);
  const values = parseOriginVerifySecret(secret.text);
  const now = options.now();
  const lastRotation = values.rotatedAt ?? secret.createdAt;

  const { Distribution, ETag } = await options.cloudFront.send(new GetDistributionCommand({ Id: options.distributionId }));
  const config = Distribution?.DistributionConfig;
  if (config === undefined || ETag === undefined) throw new Error(`distribution ${options.distributionId} has no configuration`);
  const headers = originVerifyHeaders(config);
  if (headers.length === 0) throw new Error(`distribution ${options.distributionId} has no origin with a ${ORIGIN_VERIFY_HEADER} header`);

  if (headers.some((header) => header.HeaderValue !== values.current)) {
    // A sandbox that re-read just before the new value was written may not re-read for refreshMs.
    if (now - lastRotation < refreshMs) return RotationStep.WAITING;
    for (const header of headers) header.HeaderValue = values.current;
    await options.cloudFront.send(new UpdateDistributionCommand({ Id: options.distributionId, IfMatch: ETag, DistributionConfig: config }));
    return RotationStep.CDN_UPDATED;
  }
  // Edges may send the previous value until the distribution is deployed, and functions accept it
  // only within its window: a new rotation would make it unknown.
  const previousStillSent = Distribution?.Status !== 'Deployed' || (values.previous !== undefined && now - lastRotation < windowMs);
  if (previousStillSent) return RotationStep.WAITING;
  if (!options.force && now - lastRotation < options.rotationPeriodMs) return RotationStep.IDLE;
  const next = (options.generate ?? (() => generateSecretValue(48)))();
  await writeSecret(options.secrets, options.secretId, formatOriginVerifySecret({ current: next, previous: values.current, rotatedAt: now }));
  return RotationStep.STARTED;
}

function originVerifyHeaders(config: DistributionConfig) {
  return (config.Origins?.Items ?? []).flatMap((origin) => (origin.CustomHeaders?.Items ?? []).filter((h) => h.HeaderName?.toLowerCase() === ORIGIN_VERIFY_HEADER));
}

/** The cache AUTH secret as the rotator keeps it. */
export interface CacheAuthSecret {
  readonly current: string;
  /** The token before the last one, valid until `SET`. */
  readonly previous?: string;
  /** When `current` became current (ms since the epoch). */
  readonly rotatedAt?: number;
  /** The next token, sent to ElastiCache with ROTATE, not yet current. */
  readonly pending?: string;
  /** When `pending` was written (ms since the epoch). */
  readonly pendingAt?: number;
}

/** The rotator's view of a cache AUTH secret: a plain token, or JSON with `current` (or `password`/`authToken`). */
export function parseCacheAuthSecret(text: string): CacheAuthSecret {
  if (!text.trimStart().startsWith('{')) return { current: text.trim() };
  const record = JSON.parse(text) as Record<string, unknown>;
  const current = [record.current, record.password, record.authToken].find((v): v is string => typeof v === 'string' && v !== '');
  if (current === undefined) throw new Error('cache AUTH secret JSON must hold a non-empty "current" string');
  const text_ = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const time = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : undefined);
  return { current, previous: text_(record.previous), rotatedAt: time(record.rotatedAt), pending: text_(record.pending), pendingAt: time(record.pendingAt) };
}

export function formatCacheAuthSecret(secret: CacheAuthSecret): string {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return JSON.stringify({ current: secret.current, previous: secret.previous, rotatedAt: iso(secret.rotatedAt), pending: secret.pending, pendingAt: iso(secret.pendingAt) });
}

export interface CacheAuthRotationOptions {
  readonly secrets: Pick<SecretsManagerClient, 'send'>;
  readonly elastiCache: Pick<ElastiCacheClient, 'send'>;
  /** The AUTH token secret. */
  readonly secretId: string;
  readonly replicationGroupId: string;
  /** Time between two rotations. */
  readonly rotationPeriodMs: number;
  /** Time between the new token becoming current and SET (both tokens valid meanwhile). */
  readonly clientGraceMs: number;
  /** Start a rotation now if none is under way. @default false */
  readonly force?: boolean;
  readonly now: () => number;
  /** The next token. @default - 64 random letters and digits */
  readonly generate?: () => string;
}

/** Takes the next step of the cache AUTH token rotation (see the module comment). */
export async function advanceCacheAuthRotation(options: CacheAuthRotationOptions): Promise<RotationStep> {
  const { DescribeReplicationGroupsCommand, ModifyReplicationGroupCommand } = elastiCacheSdk();
  const read = await readSecret(options.secrets, options.secretId);
  const secret = parseCacheAuthSecret(read.text);
  const { ReplicationGroups } = await options.elastiCache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: options.replicationGroupId }));
  const group = ReplicationGroups?.[0];
  if (group === undefined) throw new Error(`replication group ${options.replicationGroupId} does not exist`);
  if (group.Status !== 'available') return RotationStep.WAITING;
  const now = options.now();
  const modify = (token: string, strategy: 'ROTATE' | 'SET') =>
    options.elastiCache.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: options.replicationGroupId, AuthToken: token, AuthTokenUpdateStrategy: strategy, ApplyImmediately: true }));

  if (secret.pending !== undefined) {
    const appliedAt = group.AuthTokenLastModifiedDate?.getTime() ?? Number.NEGATIVE_INFINITY;
    if (secret.pendingAt === undefined || appliedAt < secret.pendingAt) {
      // ROTATE was not sent (the call failed after the secret was written) or not yet applied.
      await modify(secret.pending, 'ROTATE');
      return RotationStep.WAITING;
    }
    await writeSecret(options.secrets, options.secretId, formatCacheAuthSecret({ current: secret.pending, previous: secret.current, rotatedAt: now }));
    return RotationStep.TOKEN_PROMOTED;
  }
  if (secret.previous !== undefined) {
    if (secret.rotatedAt !== undefined && now - secret.rotatedAt < options.clientGraceMs) return RotationStep.WAITING;
    await modify(secret.current, 'SET');
    await writeSecret(options.secrets, options.secretId, formatCacheAuthSecret({ current: secret.current, rotatedAt: secret.rotatedAt }));
    return RotationStep.PREVIOUS_REVOKED;
  }
  const lastRotation = secret.rotatedAt ?? read.createdAt;
  if (!options.force && now - lastRotation < options.rotationPeriodMs) return RotationStep.IDLE;
  const next = (options.generate ?? (() => generateSecretValue(64)))();
  await writeSecret(options.secrets, options.secretId, formatCacheAuthSecret({ current: secret.current, rotatedAt: secret.rotatedAt, pending: next, pendingAt: now }));
  await modify(next, 'ROTATE');
  return RotationStep.STARTED;
}
