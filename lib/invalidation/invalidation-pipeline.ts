import { createHash } from 'node:crypto';
import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CLOUDFRONT_MAX_FILES_IN_PROGRESS, CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS } from '../../lambda/runtime/invalidation/cloudfront-paths';
import {
  CACHE_INVALIDATION_DETAIL_TYPE,
  DEFAULT_INVALIDATION_SOURCE,
  DEFAULT_MAX_CONTINUATIONS,
  MAPPED_INVALIDATION_KIND,
} from '../../lambda/runtime/invalidation/messages';
import { InvalidationMapping, InvalidationMappingSpec, TemplateError, checkInvalidationMapping } from '../../lambda/runtime/invalidation/templates';
import { CacheKeys } from '../../lambda/runtime/keys';
import { CachePyramidFunction } from '../api/api-function';
import { ICacheCluster } from '../cache/cache-cluster';
import { checkInteger } from '../validation/check-integer';
import { checkDurationType, checkRequired, checkVpc } from '../validation/check-props';

export { KeyTemplate } from '../../lambda/runtime/invalidation/templates';
export type { InvalidationMapping } from '../../lambda/runtime/invalidation/templates';

/** Environment variables {@link InvalidationPipeline.grantPublish} sets on a function. */
export enum InvalidationPublisherEnv {
  /** The bus to `PutEvents` to. */
  EVENT_BUS_NAME = 'INVALIDATION_EVENT_BUS_NAME',
  /** The `source` of `CacheInvalidation` events. */
  SOURCE = 'INVALIDATION_SOURCE',
}

/** Settings of one consumer (its queue, event source and function). */
export interface PurgerOptions {
  /** How long the event source gathers records before it invokes the function. @default - Redis 1 s, CloudFront 10 s */
  readonly maxBatchingWindow?: Duration;
  /** Records per invocation (1-10000; above 10 needs a batching window). @default - Redis 25, CloudFront 1000 */
  readonly batchSize?: number;
  /** Most concurrent invocations the event source starts (2-1000). @default - Redis 10, CloudFront 2 */
  readonly maxConcurrency?: number;
  /** Function timeout. @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** Function memory, in MiB. @default 256 */
  readonly memorySizeMb?: number;
}

/** Props for {@link InvalidationPipeline}. */
export interface InvalidationPipelineProps {
  /** The cache the Redis purger purges; its security group and AUTH secret are granted to the purger. */
  readonly cache: ICacheCluster;
  /** The cache's VPC, where the Redis purger runs (it needs an SQS interface endpoint or a NAT to send continuations and DLQ records). */
  readonly vpc: ec2.IVpc;
  /** Subnets of the Redis purger. @default - the VPC's default selection (private subnets) */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The distribution the CloudFront purger invalidates. */
  readonly distribution: cloudfront.IDistribution;
  /** Bus the rules listen on; pass `events.EventBus.fromEventBusName(this, 'Default', 'default')` for the account's default bus. @default - a new bus owned by the pipeline */
  readonly eventBus?: events.IEventBus;
  /** `source` of the `CacheInvalidation` events the pipeline takes. @default 'cache-pyramid' */
  readonly invalidationSource?: string;
  /** First segment of the app's cache keys (`CacheKeys.namespace`); keys and patterns outside it are refused. @default 'app' */
  readonly keyNamespace?: string;
  /** Schema version of the app's cache keys (`CacheKeys.schemaVersion`). @default 1 */
  readonly keySchemaVersion?: number;
  /** Receives before SQS moves a record to its DLQ (the purgers dead-letter it themselves, with the reason, on that receive). @default 5 */
  readonly maxReceiveCount?: number;
  /** Key of the queues. @default - SQS-managed server-side encryption (SSE-SQS) */
  readonly encryptionKey?: kms.IKey;
  /** How long DLQ records are kept. @default Duration.days(14) */
  readonly deadLetterRetention?: Duration;
  /** Individual paths per `CreateInvalidation` (CloudFront allows 3000 in progress). @default 3000 */
  readonly maxFilesPerInvalidation?: number;
  /** Wildcard paths per `CreateInvalidation` (CloudFront allows 15 in progress). @default 15 */
  readonly maxWildcardsPerInvalidation?: number;
  /** Time the Redis purger spends scanning patterns per invocation before it continues in a new message. @default Duration.seconds(20) */
  readonly scanTimeBudget?: Duration;
  /** Continuations one pattern purge may chain before it is dead-lettered. @default 100 */
  readonly maxScanContinuations?: number;
  /** The Redis purger (in the VPC). @default - see {@link PurgerOptions} */
  readonly redisPurger?: PurgerOptions;
  /** The CloudFront purger (outside the VPC). @default - see {@link PurgerOptions} */
  readonly cdnPurger?: PurgerOptions;
  /**
   * How long after a finished Redis purge the CloudFront purge may start (SQS `DelaySeconds` of the
   * message the Redis purger forwards, 0-900 s). It must outlast every L1 copy an API process may
   * still serve and hand to the edge: the API's L1 TTL plus a margin for a load in flight (the
   * coalescing lock TTL) and clock skew. A purge of the edge before that would let an edge miss
   * store the old value again, for up to its max-age.
   * @default Duration.seconds(15) — the default L1 TTL (10 s) + 5 s
   */
  readonly cdnPurgeDelay?: Duration;
}

const REDIS_DEFAULTS = { maxBatchingWindow: Duration.seconds(1), batchSize: 25, maxConcurrency: 10 };
/** The default L1 TTL (`DEFAULT_L1.ttlSeconds`, 10 s) plus 5 s for a load in flight (lock TTL 3 s) and clock skew. */
const DEFAULT_CDN_PURGE_DELAY = Duration.seconds(15);
/** SQS's largest `DelaySeconds`. */
const MAX_SQS_DELAY_SECONDS = 900;
const CDN_DEFAULTS = { maxBatchingWindow: Duration.seconds(10), batchSize: 1000, maxConcurrency: 2 };
const FUNCTION_TIMEOUT = Duration.minutes(1);
/** Time the Redis purger keeps back from its timeout for continuations and the SQS answer (its adapter's margin). */
const REDIS_SAFETY_MARGIN = Duration.seconds(5);
/** CloudFormation's limit on a target's `InputTemplate`. */
const MAX_INPUT_TEMPLATE_CHARS = 8192;
/** SQS's largest message: the mapped envelope is the app event (up to 256 KB) plus its mapping. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const EVENT_SOURCE_NAME = /^[A-Za-z0-9_.:/-]{1,256}$/;

/**
 * The event-driven invalidation layer, bottom-up: app events on EventBridge → the Redis purge queue →
 * a Redis purger in the VPC (`UNLINK`, tag sets, `SCAN` patterns on every master), which, once Redis
 * is clean, forwards the CDN paths to the CloudFront purge queue with a delay of `cdnPurgeDelay`
 * (every L1 copy has expired by then) → a CloudFront purger outside the VPC (one
 * `CreateInvalidation` per batch, within CloudFront's limits). The CDN is never purged before the
 * layers under it, so an edge miss cannot store the old value again; a Redis purge that had to be
 * retried is followed by its CDN purge only once it succeeded.
 *
 * Two kinds of events reach the purgers: `CacheInvalidation` events (DESIGN.md schema) on
 * `invalidationSource`, and app domain events wired with {@link invalidateOn}. Each queue is encrypted,
 * SSL-only, with a DLQ after `maxReceiveCount` receives; the purgers report partial batch failures
 * and dead-letter hopeless records themselves with the reason in message attributes.
 *
 * @example
 * const pipeline = new InvalidationPipeline(this, 'Invalidation', { cache, vpc, distribution });
 * pipeline.grantPublish(apiFunction);
 * pipeline.invalidateOn({
 *   source: 'shop.catalog', detailType: 'ProductUpdated',
 *   resources: [{ resource: product, params: { id: '{detail.id}' } }],
 *   tags: ['product:{detail.id}'],
 * });
 */
export class InvalidationPipeline extends Construct {
  /** The bus the rules listen on. */
  public readonly bus: events.IEventBus;
  /** The rule for `CacheInvalidation` events. */
  public readonly invalidationRule: events.Rule;
  /** Queue of the Redis purger. */
  public readonly redisPurgeQueue: sqs.Queue;
  /** Its DLQ (records carry `DeadLetterReason` attributes when a purger put them there). */
  public readonly redisPurgeDeadLetterQueue: sqs.Queue;
  /** Queue of the CloudFront purger; the Redis purger sends it the CDN paths of each finished purge, delayed by {@link cdnPurgeDelay}. */
  public readonly cdnPurgeQueue: sqs.Queue;
  /** Delay between a finished Redis purge and the CloudFront purge it forwards. */
  public readonly cdnPurgeDelay: Duration;
  /** Its DLQ. */
  public readonly cdnPurgeDeadLetterQueue: sqs.Queue;
  /** The Redis purger, in the VPC. */
  public readonly redisPurger: CachePyramidFunction;
  /** The CloudFront purger, outside the VPC. */
  public readonly cdnPurger: CachePyramidFunction;
  /** Security group of the Redis purger (egress: the cache port, and HTTPS within the VPC for interface endpoints). */
  public readonly redisPurgerSecurityGroup: ec2.SecurityGroup;
  /** `source` of the `CacheInvalidation` events the pipeline takes. */
  public readonly invalidationSource: string;

  private readonly keyPrefix: string;
  private readonly mappingRules = new Map<string, events.Rule>();

  constructor(scope: Construct, id: string, props: InvalidationPipelineProps) {
    super(scope, id);
    const settings = validateProps(props);
    this.invalidationSource = settings.invalidationSource;
    this.cdnPurgeDelay = settings.cdnPurgeDelay;
    this.keyPrefix = new CacheKeys({ namespace: settings.keyNamespace, schemaVersion: settings.keySchemaVersion }).prefix;

    this.bus = props.eventBus ?? new events.EventBus(this, 'Bus', { description: 'cache-pyramid: app events that invalidate Redis keys and CloudFront paths' });

    const redisQueues = this.queues('RedisPurge', props, settings.redis);
    this.redisPurgeQueue = redisQueues.queue;
    this.redisPurgeDeadLetterQueue = redisQueues.deadLetterQueue;
    const cdnQueues = this.queues('CdnPurge', props, settings.cdn);
    this.cdnPurgeQueue = cdnQueues.queue;
    this.cdnPurgeDeadLetterQueue = cdnQueues.deadLetterQueue;

    this.redisPurgerSecurityGroup = new ec2.SecurityGroup(this, 'RedisPurgerSecurityGroup', {
      vpc: props.vpc,
      description: 'cache-pyramid Redis purger: the cache port (granted) and HTTPS to interface endpoints',
      allowAllOutbound: false,
    });
    this.redisPurgerSecurityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.tcp(443), 'SQS (continuations, DLQ records) and Secrets Manager through interface endpoints');

    const keyEnvironment = { CACHE_KEY_NAMESPACE: settings.keyNamespace, CACHE_KEY_SCHEMA_VERSION: String(settings.keySchemaVersion) };
    this.redisPurger = new CachePyramidFunction(this, 'RedisPurger', {
      codeDir: 'redis-purger',
      description: 'cache-pyramid: UNLINKs invalidated keys, empties tag sets, SCANs patterns on every master',
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.redisPurgerSecurityGroup],
      timeout: settings.redis.timeout,
      memorySize: settings.redis.memorySizeMb,
      environment: {
        ...props.cache.clientEnvironment,
        ...keyEnvironment,
        POWERTOOLS_SERVICE_NAME: 'redis-purger',
        PURGE_QUEUE_URL: this.redisPurgeQueue.queueUrl,
        DEAD_LETTER_QUEUE_URL: this.redisPurgeDeadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
        SCAN_TIME_BUDGET_MS: String(settings.scanTimeBudget.toMilliseconds()),
        MAX_CONTINUATIONS: String(settings.maxScanContinuations),
        CDN_PURGE_QUEUE_URL: this.cdnPurgeQueue.queueUrl,
        CDN_PURGE_DELAY_SECONDS: String(settings.cdnPurgeDelay.toSeconds()),
      },
    });
    props.cache.grantConnect(this.redisPurger);
    // Continuations of unfinished pattern scans go back to the purger's own queue.
    this.redisPurgeQueue.grantSendMessages(this.redisPurger);
    // The CDN purge follows each finished Redis purge, through the CloudFront purger's queue.
    this.cdnPurgeQueue.grantSendMessages(this.redisPurger);
    this.redisPurgeDeadLetterQueue.grantSendMessages(this.redisPurger);
    this.redisPurger.addEventSource(
      new SqsEventSource(this.redisPurgeQueue, {
        batchSize: settings.redis.batchSize,
        maxBatchingWindow: settings.redis.maxBatchingWindow,
        maxConcurrency: settings.redis.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    this.cdnPurger = new CachePyramidFunction(this, 'CdnPurger', {
      codeDir: 'cdn-purger',
      description: 'cache-pyramid: one CreateInvalidation per batch of invalidation events, within CloudFront limits',
      timeout: settings.cdn.timeout,
      memorySize: settings.cdn.memorySizeMb,
      environment: {
        ...keyEnvironment,
        POWERTOOLS_SERVICE_NAME: 'cdn-purger',
        DISTRIBUTION_ID: props.distribution.distributionId,
        DEAD_LETTER_QUEUE_URL: this.cdnPurgeDeadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
        MAX_FILES_PER_INVALIDATION: String(settings.maxFilesPerInvalidation),
        MAX_WILDCARDS_PER_INVALIDATION: String(settings.maxWildcardsPerInvalidation),
      },
    });
    Validations.of(this.cdnPurger).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason:
        'The CloudFront purger calls only the CloudFront API (global, with no VPC interface endpoint) and SQS, and touches no private resource; in the VPC it would need a NAT gateway for no isolation gain. Its rights are CreateInvalidation on one distribution and SendMessage to its DLQ.',
    });
    props.distribution.grantCreateInvalidation(this.cdnPurger);
    this.cdnPurgeDeadLetterQueue.grantSendMessages(this.cdnPurger);
    this.cdnPurger.addEventSource(
      new SqsEventSource(this.cdnPurgeQueue, {
        batchSize: settings.cdn.batchSize,
        maxBatchingWindow: settings.cdn.maxBatchingWindow,
        // Few concurrent batches: each is one invalidation, and CloudFront limits those in progress.
        maxConcurrency: settings.cdn.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    if (props.encryptionKey) {
      for (const fn of [this.redisPurger, this.cdnPurger]) acknowledgeQueueKeyGrant(fn);
    }

    // One target only: a CloudFront purge running in parallel with the Redis purge (the order this
    // replaces) lets an edge miss store the old value from Redis or an L1 copy for up to its max-age.
    this.invalidationRule = new events.Rule(this, 'CacheInvalidationRule', {
      eventBus: this.bus,
      description: `${CACHE_INVALIDATION_DETAIL_TYPE} events from ${this.invalidationSource} to the Redis purger, which forwards the CDN paths once Redis is clean`,
      eventPattern: { source: [this.invalidationSource], detailType: [CACHE_INVALIDATION_DETAIL_TYPE] },
    });
    this.invalidationRule.addTarget(this.target(this.redisPurgeQueue, this.redisPurgeDeadLetterQueue));
  }

  /**
   * Wires an app domain event to invalidation: every `detailType` event from `source` purges the keys
   * and paths its templates name (`{detail.<field>}` placeholders, arrays fan out). The templates are
   * checked now; an error names the prop (`paths[1]`). Returns the rule.
   */
  public invalidateOn(mapping: InvalidationMapping): events.Rule {
    let spec: InvalidationMappingSpec;
    try {
      spec = checkInvalidationMapping(mapping, this.keyPrefix);
    } catch (error) {
      if (error instanceof TemplateError) throw new Error(`InvalidationPipeline.invalidateOn: ${error.message}`);
      throw error;
    }
    const name = `${spec.source} ${spec.detailType}`;
    if (this.mappingRules.has(name)) throw new Error(`InvalidationPipeline.invalidateOn: ${spec.detailType} from ${spec.source} is already wired; put all of its keys and paths in one mapping`);
    if (spec.source === this.invalidationSource && spec.detailType === CACHE_INVALIDATION_DETAIL_TYPE) {
      throw new Error(`InvalidationPipeline.invalidateOn: ${CACHE_INVALIDATION_DETAIL_TYPE} from ${spec.source} is the pipeline's own event; publish it directly instead`);
    }
    const input = new MappedInvalidationInput(spec);
    const rule = new events.Rule(this, this.ruleId(spec), {
      eventBus: this.bus,
      description: `${spec.detailType} from ${spec.source}: ${spec.keys.length} key template(s), ${spec.paths.length} path template(s), ${spec.tags.length} tag template(s)`.slice(0, 512),
      eventPattern: { source: [spec.source], detailType: [spec.detailType] },
    });
    // Through the Redis purger even when the mapping names only paths: the CDN purge waits for the
    // layers below (it forwards the paths with the delay), whatever the event names.
    rule.addTarget(this.target(this.redisPurgeQueue, this.redisPurgeDeadLetterQueue, input));
    this.mappingRules.set(name, rule);
    return rule;
  }

  /**
   * Lets `grantee` put events on the bus (`events:PutEvents` on its ARN); a Lambda function also gets
   * `INVALIDATION_EVENT_BUS_NAME` and `INVALIDATION_SOURCE` for `EventBridgeInvalidationPublisher`.
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    if (grantee instanceof lambda.Function) {
      grantee.addEnvironment(InvalidationPublisherEnv.EVENT_BUS_NAME, this.bus.eventBusName);
      grantee.addEnvironment(InvalidationPublisherEnv.SOURCE, this.invalidationSource);
    }
    return this.bus.grantPutEventsTo(grantee);
  }

  /** `On<Source><DetailType>`, made unique with a hash when two names differ only in punctuation. */
  private ruleId(spec: InvalidationMappingSpec): string {
    const id = `On${pascal(spec.source)}${pascal(spec.detailType)}`;
    if (!this.node.tryFindChild(id)) return id;
    return `${id}${createHash('sha256').update(`${spec.source}\n${spec.detailType}`).digest('hex').slice(0, 8)}`;
  }

  private queues(id: string, props: InvalidationPipelineProps, consumer: Required<PurgerOptions>): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };
    const deadLetterQueue = new sqs.Queue(this, `${id}DeadLetterQueue`, {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
    });
    const reason = `This queue is the dead-letter queue of ${id}Queue (records the purger could not process, with the reason); a dead-letter queue of its own would only move them again.`;
    Validations.of(deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason });
    const queue = new sqs.Queue(this, `${id}Queue`, {
      ...encryption,
      enforceSSL: true,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      // AWS's advice for Lambda event sources: six times the function timeout, plus the batching window.
      visibilityTimeout: Duration.seconds(consumer.timeout.toSeconds() * 6 + consumer.maxBatchingWindow.toSeconds()),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    return { queue, deadLetterQueue };
  }

  /** A queue target; events EventBridge cannot deliver land in the consumer's DLQ (with EventBridge's error attributes). */
  private target(queue: sqs.IQueue, deadLetterQueue: sqs.IQueue, message?: events.RuleTargetInput): targets.SqsQueue {
    return new targets.SqsQueue(queue, { message, deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) });
  }
}

/**
 * The target input of an `invalidateOn` rule: `{ kind, version, mapping, event: <aws.events.event.json> }`.
 * The mapping is a constant; EventBridge fills in the whole original event through its predefined
 * `aws.events.event.json` variable, so the purgers expand the templates with full knowledge of it.
 */
class MappedInvalidationInput extends events.RuleTargetInput {
  constructor(private readonly mapping: InvalidationMappingSpec) {
    super();
  }

  public bind(): events.RuleTargetInputProperties {
    // `<` starts an EventBridge placeholder; escaped as JSON \u003c it stays a literal in the constant part.
    const constant = JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping: this.mapping }).replace(/</g, '\\u003c');
    const inputTemplate = `${constant.slice(0, -1)},"event":<aws.events.event.json>}`;
    if (inputTemplate.length > MAX_INPUT_TEMPLATE_CHARS) {
      throw new Error(
        `InvalidationPipeline.invalidateOn: the mapping of ${this.mapping.detailType} from ${this.mapping.source} is ${inputTemplate.length} characters as an input template; CloudFormation allows ${MAX_INPUT_TEMPLATE_CHARS}`,
      );
    }
    return { inputTemplate };
  }
}

/** With a KMS key, the SQS grants add these key actions, on that one key. */
function acknowledgeQueueKeyGrant(fn: CachePyramidFunction): void {
  Validations.of(fn.role!).acknowledge(
    ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} comes from the SQS grants on the KMS-encrypted purge queues and applies to their one key only (SQS encrypts messages with the sender's rights).`,
    })),
  );
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

interface Settings {
  readonly invalidationSource: string;
  readonly keyNamespace: string;
  readonly keySchemaVersion: number;
  readonly maxReceiveCount: number;
  readonly maxFilesPerInvalidation: number;
  readonly maxWildcardsPerInvalidation: number;
  readonly scanTimeBudget: Duration;
  readonly maxScanContinuations: number;
  readonly redis: Required<PurgerOptions>;
  readonly cdn: Required<PurgerOptions>;
  readonly cdnPurgeDelay: Duration;
}

function checkDuration(name: string, value: Duration | undefined, minSeconds: number, maxSeconds: number): void {
  checkDurationType('InvalidationPipeline', name, value);
  if (value === undefined || value.isUnresolved()) return;
  const seconds = value.toSeconds({ integral: false });
  if (seconds < minSeconds || seconds > maxSeconds) {
    throw new Error(`InvalidationPipeline: \`${name}\` must be between ${minSeconds} and ${maxSeconds} seconds, got ${seconds}`);
  }
}

function consumerSettings(name: string, options: PurgerOptions | undefined, defaults: typeof REDIS_DEFAULTS): Required<PurgerOptions> {
  checkDuration(`${name}.maxBatchingWindow`, options?.maxBatchingWindow, 0, 300);
  checkInteger('InvalidationPipeline', `${name}.batchSize`, options?.batchSize, 1, 10_000);
  checkInteger('InvalidationPipeline', `${name}.maxConcurrency`, options?.maxConcurrency, 2, 1000);
  checkDuration(`${name}.timeout`, options?.timeout, 10, 900);
  checkInteger('InvalidationPipeline', `${name}.memorySizeMb`, options?.memorySizeMb, 128, 10_240);
  const settings = {
    maxBatchingWindow: options?.maxBatchingWindow ?? defaults.maxBatchingWindow,
    batchSize: options?.batchSize ?? defaults.batchSize,
    maxConcurrency: options?.maxConcurrency ?? defaults.maxConcurrency,
    timeout: options?.timeout ?? FUNCTION_TIMEOUT,
    memorySizeMb: options?.memorySizeMb ?? 256,
  };
  if (!Token.isUnresolved(settings.batchSize) && settings.batchSize > 10 && !settings.maxBatchingWindow.isUnresolved() && settings.maxBatchingWindow.toSeconds() === 0) {
    throw new Error(`InvalidationPipeline: \`${name}.batchSize\` above 10 needs a \`${name}.maxBatchingWindow\` of at least 1 second (an SQS event source rule), got batchSize ${settings.batchSize} with no window`);
  }
  return settings;
}

function validateProps(props: InvalidationPipelineProps): Settings {
  checkVpc('InvalidationPipeline', 'vpc', props.vpc);
  checkRequired('InvalidationPipeline', 'cache', props.cache, 'the cache the Redis purger purges (RedisCache, ServerlessRedisCache or an ICacheCluster)');
  checkRequired('InvalidationPipeline', 'distribution', props.distribution, 'the distribution the CloudFront purger invalidates (EdgeDistribution\'s `distribution`)');
  const invalidationSource = props.invalidationSource ?? DEFAULT_INVALIDATION_SOURCE;
  if (!Token.isUnresolved(invalidationSource) && !EVENT_SOURCE_NAME.test(invalidationSource)) {
    throw new Error(`InvalidationPipeline: \`invalidationSource\` must be 1-256 characters of letters, digits and "_.:/-", got ${JSON.stringify(invalidationSource)}`);
  }
  const keyNamespace = props.keyNamespace ?? 'app';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(keyNamespace)) {
    throw new Error(`InvalidationPipeline: \`keyNamespace\` must be 1-64 letters, digits, "_", "." or "-" (a CacheKeys namespace), got ${JSON.stringify(keyNamespace)}`);
  }
  checkInteger('InvalidationPipeline', 'keySchemaVersion', props.keySchemaVersion, 1, 1_000_000);
  checkInteger('InvalidationPipeline', 'maxReceiveCount', props.maxReceiveCount, 1, 1000);
  checkInteger('InvalidationPipeline', 'maxFilesPerInvalidation', props.maxFilesPerInvalidation, 1, CLOUDFRONT_MAX_FILES_IN_PROGRESS);
  checkInteger('InvalidationPipeline', 'maxWildcardsPerInvalidation', props.maxWildcardsPerInvalidation, 1, CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS);
  checkInteger('InvalidationPipeline', 'maxScanContinuations', props.maxScanContinuations, 1, 10_000);
  checkDuration('deadLetterRetention', props.deadLetterRetention, 60, 14 * 24 * 3600);
  const redis = consumerSettings('redisPurger', props.redisPurger, REDIS_DEFAULTS);
  const cdn = consumerSettings('cdnPurger', props.cdnPurger, CDN_DEFAULTS);
  checkDuration('cdnPurgeDelay', props.cdnPurgeDelay, 0, MAX_SQS_DELAY_SECONDS);
  if (props.cdnPurgeDelay && !props.cdnPurgeDelay.isUnresolved() && !Number.isInteger(props.cdnPurgeDelay.toSeconds({ integral: false }))) {
    throw new Error(`InvalidationPipeline: \`cdnPurgeDelay\` must be a whole number of seconds (SQS DelaySeconds), got ${props.cdnPurgeDelay.toSeconds({ integral: false })}`);
  }
  const scanTimeBudget = props.scanTimeBudget ?? Duration.seconds(20);
  if (!scanTimeBudget.isUnresolved() && !redis.timeout.isUnresolved()) {
    const most = redis.timeout.toSeconds() - REDIS_SAFETY_MARGIN.toSeconds();
    checkDuration('scanTimeBudget', scanTimeBudget, 1, most);
  }
  return {
    invalidationSource,
    keyNamespace,
    keySchemaVersion: props.keySchemaVersion ?? 1,
    maxReceiveCount: props.maxReceiveCount ?? 5,
    maxFilesPerInvalidation: props.maxFilesPerInvalidation ?? CLOUDFRONT_MAX_FILES_IN_PROGRESS,
    maxWildcardsPerInvalidation: props.maxWildcardsPerInvalidation ?? CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS,
    scanTimeBudget,
    maxScanContinuations: props.maxScanContinuations ?? DEFAULT_MAX_CONTINUATIONS,
    redis,
    cdn,
    cdnPurgeDelay: props.cdnPurgeDelay ?? DEFAULT_CDN_PURGE_DELAY,
  };
}
