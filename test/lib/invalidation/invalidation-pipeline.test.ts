import { Duration, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ClusterMode, RedisCache } from '../../../lib/cache/redis-cache';
import { CachePyramidFunction } from '../../../lib/api/api-function';
import { InvalidationPipeline, InvalidationPipelineProps, KeyTemplate } from '../../../lib/invalidation/invalidation-pipeline';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';
import { MAPPED_INVALIDATION_KIND, decodeInvalidationMessage, pathsOf, redisWorkOf } from '../../../lambda/runtime/invalidation/messages';
import { CacheKeys } from '../../../lambda/runtime/keys';
import { testApp, testStack, unacknowledgedFindings } from '../../support/cdk';
import { product, productList } from '../../../lambda/shop/resources';

interface Fixture {
  readonly stack: Stack;
  readonly base: InvalidationPipelineProps;
  readonly cache: RedisCache;
  readonly distribution: cloudfront.Distribution;
}

function fixture(clusterMode = ClusterMode.DISABLED): Fixture {
  const stack = testStack();
  const network = new CachePyramidNetwork(stack, 'Network');
  const cache = new RedisCache(stack, 'Cache', { vpc: network.vpc, vpcSubnets: network.subnetSelection, replicationGroupId: 'test-cache', clusterMode, replicasPerShard: 0 });
  const distribution = new cloudfront.Distribution(stack, 'Distribution', { defaultBehavior: { origin: new origins.HttpOrigin('origin.example.com') } });
  return { stack, cache, distribution, base: { cache, vpc: network.vpc, vpcSubnets: network.subnetSelection, distribution } };
}

function pipeline(overrides: Partial<InvalidationPipelineProps> = {}, clusterMode?: ClusterMode): { stack: Stack; pipeline: InvalidationPipeline; template: () => Template; fixture: Fixture } {
  const f = fixture(clusterMode);
  const created = new InvalidationPipeline(f.stack, 'Invalidation', { ...f.base, ...overrides });
  return { stack: f.stack, pipeline: created, template: () => Template.fromStack(f.stack), fixture: f };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | unknown): string {
  const child = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(child as never);
}

describe('InvalidationPipeline', () => {
  describe('bus and rules', () => {
    it('owns a bus and routes CacheInvalidation events from its source to the Redis purge queue only (the CDN purge follows Redis), with its DLQ for delivery failures', () => {
      const { stack, pipeline: p, template } = pipeline();
      const t = template();
      t.resourceCountIs('AWS::Events::EventBus', 1);
      t.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: logicalId(stack, p.bus) },
        EventPattern: { source: ['cache-pyramid'], 'detail-type': ['CacheInvalidation'] },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgeQueue), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgeDeadLetterQueue), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
            InputTransformer: Match.absent(),
          }),
        ],
      });
      // Nothing on the bus reaches the CloudFront queue directly: a CDN purge in parallel with the
      // Redis purge would let an edge miss store the old value again.
      expect(JSON.stringify(t.findResources('AWS::Events::Rule'))).not.toContain(logicalId(stack, p.cdnPurgeQueue));
    });

    it('listens on an existing bus (such as the default one) and matches a configured source', () => {
      const f = fixture();
      const bus = events.EventBus.fromEventBusName(f.stack, 'Default', 'default');
      new InvalidationPipeline(f.stack, 'Invalidation', { ...f.base, eventBus: bus, invalidationSource: 'shop.cache' });
      const t = Template.fromStack(f.stack);
      t.resourceCountIs('AWS::Events::EventBus', 0);
      t.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'default', EventPattern: { source: ['shop.cache'], 'detail-type': ['CacheInvalidation'] } });
    });

    it('invalidateOn builds a rule whose target input carries the checked mapping and the whole event', () => {
      const { stack, pipeline: p, template } = pipeline();
      p.invalidateOn({
        source: 'shop.catalog',
        detailType: 'ProductUpdated',
        resources: [{ resource: product, params: { id: '{detail.id}' } }],
        tags: ['product:{detail.id}'],
        keys: [KeyTemplate.key('app:v1:extra:{detail.id}')],
        paths: ['/api/products?*'],
      });
      const inputTemplate = new Capture();
      template().hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['shop.catalog'], 'detail-type': ['ProductUpdated'] },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgeQueue), 'Arn'] }, InputTransformer: { InputTemplate: inputTemplate } })],
      });
      // What EventBridge will send: the template with its predefined variable replaced by an event.
      const transformer = inputTemplate.asString();
      expect(transformer).toContain('"event":<aws.events.event.json>}');
      const event = { version: '0', id: 'e1', source: 'shop.catalog', 'detail-type': 'ProductUpdated', detail: { id: 42 } };
      const body = transformer.replace('<aws.events.event.json>', JSON.stringify(event));
      const message = decodeInvalidationMessage(body, 'app:v1:');
      expect(JSON.parse(body).kind).toBe(MAPPED_INVALIDATION_KIND);
      expect(pathsOf(message)).toEqual(['/api/products?*', '/api/products/42']);
      expect(redisWorkOf(message, new CacheKeys()).keys).toEqual(['app:v1:extra:42', product.key(new CacheKeys(), { id: 42 })]);
      expect(redisWorkOf(message, new CacheKeys()).tags).toEqual(['product:42']);
    });

    it('sends a mapped event that names only paths through the Redis purger too, so its CDN purge waits like any other', () => {
      const { stack, pipeline: p, template } = pipeline();
      p.invalidateOn({ source: 'shop.content', detailType: 'PageEdited', paths: ['/pages/{detail.slug}'] });
      template().hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['shop.content'], 'detail-type': ['PageEdited'] },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgeQueue), 'Arn'] } })],
      });
    });

    it.each([
      ['a placeholder outside detail', { paths: ['/api/products/{id}'] }, /invalidateOn: paths\[0\] has placeholder \{id\}/],
      ['a path without a leading slash', { paths: ['api/products/{detail.id}'] }, /invalidateOn: paths\[0\] must start with "\/"/],
      ['a wildcard before the end', { paths: ['/api/*/x'] }, /invalidateOn: paths\[0\] may hold "\*" only as its last character/],
      ['a key outside the namespace', { keys: ['other:v1:product:{detail.id}'] }, /invalidateOn: keys\[0\] must be within the app's key namespace: start with "app:v1:"/],
      ['nothing to purge', {}, /invalidateOn: mapping names no resources, tags, keys or paths/],
      ['a list resource without its query parameters', { resources: [{ resource: productList, params: {} }] }, /invalidateOn: resources\[0\]\.params\.category is missing: resource product-list is keyed on its query parameter category.*list the tag in the mapping's tags/],
      ['a bad tag', { tags: ['a b'] }, /invalidateOn: tags\[0\] may hold only letters/],
      ['a malformed detail type', { detailType: 'Product Updated', paths: ['/a'] }, /invalidateOn: detailType must be 1-256 characters/],
    ])('invalidateOn rejects %s at synth time, naming the prop', (_label, mapping, message) => {
      const { pipeline: p } = pipeline();
      expect(() => p.invalidateOn({ source: 'shop.catalog', detailType: 'ProductUpdated', ...mapping })).toThrow(message);
    });

    it('checks key templates against a custom namespace and schema version', () => {
      const { pipeline: p } = pipeline({ keyNamespace: 'shop', keySchemaVersion: 3 });
      expect(() => p.invalidateOn({ source: 's', detailType: 'D', keys: ['shop:v3:product:{detail.id}'] })).not.toThrow();
      expect(() => p.invalidateOn({ source: 's', detailType: 'E', keys: ['app:v1:product:{detail.id}'] })).toThrow(/start with "shop:v3:"/);
    });

    it('refuses to wire the same event twice, or the pipeline own event', () => {
      const { pipeline: p } = pipeline();
      p.invalidateOn({ source: 'shop.catalog', detailType: 'ProductUpdated', paths: ['/a'] });
      expect(() => p.invalidateOn({ source: 'shop.catalog', detailType: 'ProductUpdated', paths: ['/b'] })).toThrow(/ProductUpdated from shop.catalog is already wired/);
      expect(() => p.invalidateOn({ source: 'cache-pyramid', detailType: 'CacheInvalidation', paths: ['/b'] })).toThrow(/the pipeline's own event/);
    });

    it('refuses a mapping too large for a CloudFormation input template', () => {
      const { pipeline: p } = pipeline();
      const paths = Array.from({ length: 300 }, (_, i) => `/api/products/{detail.id}/variant-number-${i}`);
      expect(() => p.invalidateOn({ source: 'shop', detailType: 'Huge', paths })).toThrow(
        /invalidateOn: the mapping of Huge from shop is \d+ characters as an input template; CloudFormation allows 8192/,
      );
    });
  });

  describe('queues', () => {
    it('encrypts both queues and their DLQs with SSE-SQS by default and enforces SSL', () => {
      const { template } = pipeline();
      const t = template();
      t.resourceCountIs('AWS::SQS::Queue', 4);
      t.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MaximumMessageSize: 1048576 });
      t.resourceCountIs('AWS::SQS::QueuePolicy', 4);
      t.allResourcesProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    });

    it('uses a KMS key when given one', () => {
      const f = fixture();
      const key = new kms.Key(f.stack, 'QueueKey', { enableKeyRotation: true });
      new InvalidationPipeline(f.stack, 'Invalidation', { ...f.base, encryptionKey: key });
      Template.fromStack(f.stack).allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [f.stack.getLogicalId(key.node.defaultChild as never), 'Arn'] } });
    });

    it('moves a record to its DLQ after 5 receives, keeps DLQ records 14 days, and sizes visibility for the function timeout', () => {
      const { stack, pipeline: p, template } = pipeline();
      const t = template();
      t.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgeDeadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
        VisibilityTimeout: 361,
      });
      t.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, p.cdnPurgeDeadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
        VisibilityTimeout: 370,
      });
      t.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1209600, RedrivePolicy: Match.absent() });
    });

    it('reads each queue with its batching window and partial batch failures', () => {
      const { stack, pipeline: p, template } = pipeline({ redisPurger: { maxBatchingWindow: Duration.seconds(2), batchSize: 50 } });
      const t = template();
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgeQueue), 'Arn'] },
        FunctionName: { Ref: logicalId(stack, p.redisPurger) },
        BatchSize: 50,
        MaximumBatchingWindowInSeconds: 2,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 10 },
      });
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, p.cdnPurgeQueue), 'Arn'] },
        FunctionName: { Ref: logicalId(stack, p.cdnPurger) },
        BatchSize: 1000,
        MaximumBatchingWindowInSeconds: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    });
  });

  describe('purgers', () => {
    it('runs the Redis purger in the VPC with the cache environment, able to reach the cache port', () => {
      const { stack, pipeline: p, template, fixture: f } = pipeline();
      const t = template();
      t.hasResourceProperties('AWS::Lambda::Function', {
        VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack, p.redisPurgerSecurityGroup), 'GroupId'] }], SubnetIds: Match.anyValue() },
        Environment: {
          Variables: Match.objectLike({
            CACHE_ENDPOINT: Match.anyValue(),
            CACHE_TLS: 'true',
            CACHE_CLUSTER_MODE: 'false',
            CACHE_KEY_NAMESPACE: 'app',
            CACHE_KEY_SCHEMA_VERSION: '1',
            PURGE_QUEUE_URL: { Ref: logicalId(stack, p.redisPurgeQueue) },
            DEAD_LETTER_QUEUE_URL: { Ref: logicalId(stack, p.redisPurgeDeadLetterQueue) },
            MAX_RECEIVE_COUNT: '5',
            SCAN_TIME_BUDGET_MS: '20000',
            CDN_PURGE_QUEUE_URL: { Ref: logicalId(stack, p.cdnPurgeQueue) },
            CDN_PURGE_DELAY_SECONDS: '15',
          }),
        },
      });
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [logicalId(stack, f.cache.securityGroup), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack, p.redisPurgerSecurityGroup), 'GroupId'] },
        FromPort: 6380,
        ToPort: 6380,
      });
    });

    it('runs the CloudFront purger outside the VPC, allowed CreateInvalidation on exactly the distribution', () => {
      const { stack, pipeline: p, template, fixture: f } = pipeline();
      const t = template();
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: Match.absent(),
        VpcConfig: Match.absent(),
        Environment: { Variables: Match.objectLike({ DISTRIBUTION_ID: { Ref: logicalId(stack, f.distribution) }, MAX_FILES_PER_INVALIDATION: '3000', MAX_WILDCARDS_PER_INVALIDATION: '15' }) },
      });
      const policies = t.findResources('AWS::IAM::Policy');
      const statements = Object.values(policies).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement);
      const invalidation = statements.filter((s) => s.Action === 'cloudfront:CreateInvalidation' || (Array.isArray(s.Action) && s.Action.includes('cloudfront:CreateInvalidation')));
      expect(invalidation).toHaveLength(1);
      expect(invalidation[0].Resource).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::111111111111:distribution/', { Ref: logicalId(stack, f.distribution) }]],
      });
      const cdnRole = p.cdnPurger.role!.node.defaultChild;
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: stack.getLogicalId(cdnRole as never) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'cloudfront:CreateInvalidation' })]) },
      });
    });

    it('forwards the CDN purge after the delay it is given', () => {
      const { template } = pipeline({ cdnPurgeDelay: Duration.seconds(70) });
      template().hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ CDN_PURGE_DELAY_SECONDS: '70' }) } });
    });

    it('lets each purger send only to the queues it needs (its DLQ; the Redis purger also to its own queue and the CloudFront queue)', () => {
      const { stack, pipeline: p, template } = pipeline();
      const sends = (role: unknown) =>
        Object.values(template().findResources('AWS::IAM::Policy'))
          .filter((policy) => JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles) === JSON.stringify([{ Ref: stack.getLogicalId(role as never) }]))
          .flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement)
          .filter((s) => JSON.stringify(s.Action).includes('sqs:SendMessage'))
          .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
          .map((resource) => JSON.stringify(resource));
      const arn = (queue: unknown) => JSON.stringify({ 'Fn::GetAtt': [logicalId(stack, queue), 'Arn'] });
      expect(sends(p.redisPurger.role!.node.defaultChild).sort()).toEqual([arn(p.redisPurgeQueue), arn(p.redisPurgeDeadLetterQueue), arn(p.cdnPurgeQueue)].sort());
      expect(sends(p.cdnPurger.role!.node.defaultChild)).toEqual([arn(p.cdnPurgeDeadLetterQueue)]);
    });

    it('passes the cluster mode of the cache to the Redis purger', () => {
      const { template } = pipeline({}, ClusterMode.ENABLED);
      template().hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ CACHE_CLUSTER_MODE: 'true', PURGE_QUEUE_URL: Match.anyValue() }) } });
    });
  });

  describe('grantPublish', () => {
    it('grants events:PutEvents on the bus and tells a function where to publish', () => {
      const { stack, pipeline: p, template } = pipeline();
      const fn = new CachePyramidFunction(stack, 'Api', { codeDir: 'api' });
      p.grantPublish(fn);
      const t = template();
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: stack.getLogicalId(fn.role!.node.defaultChild as never) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [logicalId(stack, p.bus), 'Arn'] } })]) },
      });
      t.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ INVALIDATION_EVENT_BUS_NAME: { Ref: logicalId(stack, p.bus) }, INVALIDATION_SOURCE: 'cache-pyramid' }) },
      });
    });
  });

  describe('props validation', () => {
    it.each([
      ['maxReceiveCount', { maxReceiveCount: 0 }, '`maxReceiveCount` must be an integer between 1 and 1000, got 0'],
      ['maxFilesPerInvalidation', { maxFilesPerInvalidation: 3001 }, '`maxFilesPerInvalidation` must be an integer between 1 and 3000, got 3001'],
      ['maxWildcardsPerInvalidation', { maxWildcardsPerInvalidation: 16 }, '`maxWildcardsPerInvalidation` must be an integer between 1 and 15, got 16'],
      ['maxScanContinuations', { maxScanContinuations: 0 }, '`maxScanContinuations` must be an integer between 1 and 10000, got 0'],
      ['keySchemaVersion', { keySchemaVersion: 0 }, '`keySchemaVersion` must be an integer between 1 and 1000000, got 0'],
      ['keyNamespace', { keyNamespace: 'my app' }, '`keyNamespace` must be 1-64 letters, digits, "_", "." or "-" (a CacheKeys namespace), got "my app"'],
      ['invalidationSource', { invalidationSource: 'has space' }, '`invalidationSource` must be 1-256 characters of letters, digits and "_.:/-", got "has space"'],
      ['deadLetterRetention', { deadLetterRetention: Duration.days(15) }, '`deadLetterRetention` must be between 60 and 1209600 seconds, got 1296000'],
      ['scanTimeBudget', { scanTimeBudget: Duration.seconds(58) }, '`scanTimeBudget` must be between 1 and 55 seconds, got 58'],
      ['redisPurger.batchSize', { redisPurger: { batchSize: 10_001 } }, '`redisPurger.batchSize` must be an integer between 1 and 10000, got 10001'],
      ['cdnPurger.maxConcurrency', { cdnPurger: { maxConcurrency: 1 } }, '`cdnPurger.maxConcurrency` must be an integer between 2 and 1000, got 1'],
      ['cdnPurger.maxBatchingWindow', { cdnPurger: { maxBatchingWindow: Duration.minutes(6) } }, '`cdnPurger.maxBatchingWindow` must be between 0 and 300 seconds, got 360'],
      ['redisPurger.timeout', { redisPurger: { timeout: Duration.minutes(16) } }, '`redisPurger.timeout` must be between 10 and 900 seconds, got 960'],
      ['cdnPurger.memorySizeMb', { cdnPurger: { memorySizeMb: 64 } }, '`cdnPurger.memorySizeMb` must be an integer between 128 and 10240, got 64'],
      ['cdnPurgeDelay', { cdnPurgeDelay: Duration.minutes(16) }, '`cdnPurgeDelay` must be between 0 and 900 seconds, got 960'],
      ['a fractional cdnPurgeDelay', { cdnPurgeDelay: Duration.millis(1500) }, '`cdnPurgeDelay` must be a whole number of seconds (SQS DelaySeconds), got 1.5'],
      ['a batch above 10 without a window', { redisPurger: { batchSize: 50, maxBatchingWindow: Duration.seconds(0) } }, '`redisPurger.batchSize` above 10 needs a `redisPurger.maxBatchingWindow` of at least 1 second'],
    ])('rejects an invalid %s with a message naming it', (_label, overrides, message) => {
      const f = fixture();
      expect(() => new InvalidationPipeline(f.stack, 'Invalidation', { ...f.base, ...(overrides as Partial<InvalidationPipelineProps>) })).toThrow(message);
    });
  });

  describe('validation plugins', () => {
    it.each([
      ['SSE-SQS queues', false],
      ['KMS queues', true],
    ])('with %s, cdk-nag AwsSolutions and the cfn-guard Control Tower rules find nothing unacknowledged in the pipeline', (_label, withKey) => {
      const app = testApp();
      const stack = testStack({}, app);
      const network = new CachePyramidNetwork(stack, 'Network');
      const cache = new RedisCache(stack, 'Cache', { vpc: network.vpc, vpcSubnets: network.subnetSelection, replicationGroupId: 'nag-cache', replicasPerShard: 1 });
      const distribution = new cloudfront.Distribution(stack, 'Distribution', { defaultBehavior: { origin: new origins.HttpOrigin('origin.example.com') } });
      const encryptionKey = withKey ? new kms.Key(stack, 'QueueKey', { enableKeyRotation: true }) : undefined;
      const p = new InvalidationPipeline(stack, 'Invalidation', { cache, vpc: network.vpc, vpcSubnets: network.subnetSelection, distribution, encryptionKey });
      p.invalidateOn({ source: 'shop.catalog', detailType: 'ProductUpdated', resources: [{ resource: product, params: { id: '{detail.id}' } }] });
      const mine = unacknowledgedFindings(app)
        .map((f) => ({ ...f, constructPaths: f.constructPaths.filter((path) => path.startsWith('Test/Invalidation/')) }))
        .filter((f) => f.constructPaths.length > 0);
      expect(mine).toEqual([]);
    });
  });
});
