import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CachePyramidFunction } from './api-function';

/** The `x-origin-verify` secret and the distribution that sends it. */
export interface OriginVerifyRotation {
  /** The secret (JSON `{"current": …}`, as {@link originVerifySecret} creates it). */
  readonly secret: secretsmanager.ISecret;
  /** The distribution whose origins send the secret's current value as `x-origin-verify`. */
  readonly distribution: cloudfront.IDistribution;
}

/** The cache AUTH token secret and the replication group that checks it. */
export interface CacheAuthRotation {
  /** The secret (JSON `{"current": …}`, as `RedisCache` generates it). */
  readonly secret: secretsmanager.ISecret;
  /** The node-based replication group's id (its `Ref`). */
  readonly replicationGroupId: string;
}

/** Props for {@link SecretRotator}. */
export interface SecretRotatorProps {
  /** Rotate the `x-origin-verify` value. @default - not rotated */
  readonly originVerify?: OriginVerifyRotation;
  /** Rotate the cache AUTH token. @default - not rotated */
  readonly cacheAuth?: CacheAuthRotation;
  /** Time between two rotations of each secret, 1 to 365 days. @default Duration.days(30) */
  readonly rotationPeriod?: Duration;
  /** How often the rotator takes the next step (one per secret per run), 1 to 60 minutes. @default Duration.minutes(5) */
  readonly checkInterval?: Duration;
  /** How long both AUTH tokens stay valid before the old one is revoked (ElastiCache SET), 1 minute to 24 hours. @default Duration.minutes(15) */
  readonly cacheClientGrace?: Duration;
}

/**
 * Rotates the secrets CloudFormation cannot re-resolve (a `{{resolve:secretsmanager}}` reference is
 * read only when the resource it sits in is updated): a function, run on a schedule, that takes the
 * next safe step of each rotation — a new value both sides accept, then CloudFront's origin header
 * (`cloudfront:UpdateDistribution`) or ElastiCache's token (`ModifyReplicationGroup` ROTATE, then
 * SET) — so that no request is refused while the new value reaches everyone. Its rights cover only
 * the given secrets, distribution and replication group. See docs/deploying.md, "Rotating secrets".
 */
export class SecretRotator extends Construct {
  /** The rotator function; invoke it with `{"force": true}` to start a rotation now. */
  readonly rotatorFunction: CachePyramidFunction;
  /** The schedule that runs it. */
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: SecretRotatorProps) {
    super(scope, id);
    validateProps(props);
    const stack = Stack.of(this);
    const rotationPeriod = props.rotationPeriod ?? Duration.days(30);

    this.rotatorFunction = new CachePyramidFunction(this, 'Function', {
      codeDir: 'secret-rotator',
      description: 'cache-pyramid: rotates the x-origin-verify value and the cache AUTH token one safe step at a time',
      timeout: Duration.seconds(60),
      memorySize: 256,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'secret-rotator',
        ROTATION_PERIOD_SECONDS: String(rotationPeriod.toSeconds()),
        ...(props.originVerify ? { ORIGIN_VERIFY_SECRET_ARN: props.originVerify.secret.secretArn, DISTRIBUTION_ID: props.originVerify.distribution.distributionId } : {}),
        ...(props.cacheAuth
          ? {
              CACHE_AUTH_SECRET_ARN: props.cacheAuth.secret.secretArn,
              REPLICATION_GROUP_ID: props.cacheAuth.replicationGroupId,
              CACHE_CLIENT_GRACE_SECONDS: String((props.cacheClientGrace ?? Duration.minutes(15)).toSeconds()),
            }
          : {}),
      },
    });
    Validations.of(this.rotatorFunction).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason:
        'The rotator calls only AWS APIs (CloudFront, which has no VPC interface endpoint, ElastiCache and Secrets Manager) and reaches no private resource; in the VPC it would need a NAT gateway for no isolation gain.',
    });

    for (const rotation of [props.originVerify, props.cacheAuth]) {
      if (rotation === undefined) continue;
      rotation.secret.grantRead(this.rotatorFunction);
      this.rotatorFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:PutSecretValue'], resources: [rotation.secret.secretArn] }));
      // A secret encrypted with its own key: Secrets Manager encrypts the new version with a data key of it.
      if (rotation.secret.encryptionKey) {
        this.rotatorFunction.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['kms:GenerateDataKey'],
            resources: [rotation.secret.encryptionKey.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
          }),
        );
      }
    }
    if (props.originVerify) {
      props.originVerify.distribution.grant(this.rotatorFunction, 'cloudfront:GetDistribution', 'cloudfront:UpdateDistribution');
    }
    if (props.cacheAuth) {
      this.rotatorFunction.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['elasticache:DescribeReplicationGroups', 'elasticache:ModifyReplicationGroup'],
          resources: [stack.formatArn({ service: 'elasticache', resource: 'replicationgroup', resourceName: props.cacheAuth.replicationGroupId, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        }),
      );
    }

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'cache-pyramid secret rotator: the next step of each rotation',
      schedule: events.Schedule.rate(props.checkInterval ?? Duration.minutes(5)),
      // A failed run is simply the next run: every step is taken again from what it finds.
      targets: [new targets.LambdaFunction(this.rotatorFunction, { retryAttempts: 0 })],
    });
  }
}

function validateProps(props: SecretRotatorProps): void {
  if (props.originVerify === undefined && props.cacheAuth === undefined) {
    throw new Error('SecretRotator: give `originVerify`, `cacheAuth` or both, got neither');
  }
  checkDuration('rotationPeriod', props.rotationPeriod, Duration.days(1), Duration.days(365), (d) => `${d.toDays({ integral: false })} days`);
  checkDuration('checkInterval', props.checkInterval, Duration.minutes(1), Duration.minutes(60), (d) => `${d.toMinutes({ integral: false })} minutes`);
  checkDuration('cacheClientGrace', props.cacheClientGrace, Duration.minutes(1), Duration.hours(24), (d) => `${d.toMinutes({ integral: false })} minutes`);
  if (props.checkInterval !== undefined && !Token.isUnresolved(props.checkInterval.toSeconds()) && props.checkInterval.toSeconds() % 60 !== 0) {
    throw new Error(`SecretRotator: \`checkInterval\` must be a whole number of minutes (an EventBridge rate), got ${props.checkInterval.toSeconds()} seconds`);
  }
}

function checkDuration(prop: string, value: Duration | undefined, min: Duration, max: Duration, show: (d: Duration) => string): void {
  if (value === undefined || Token.isUnresolved(value.toSeconds())) return;
  if (value.toSeconds() < min.toSeconds() || value.toSeconds() > max.toSeconds()) {
    throw new Error(`SecretRotator: \`${prop}\` must be between ${show(min)} and ${show(max)}, got ${show(value)}`);
  }
}
