import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CacheApi, CacheApiProps } from '../../../lib/api/cache-api';
import { L1Bus } from '../../../lib/api/l1-bus';
import { BusMode } from '../../../lambda/runtime/cache/l1-bus';
import { VIEWER_AUTHORIZATION_HEADER } from '../../../lib/cdn/edge-distribution';
import { RedisCache } from '../../../lib/cache/redis-cache';
import { DatabaseStage, OriginDatabase } from '../../../lib/database/origin-database';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';
import { TtlClass } from '../../../lambda/runtime/ttl';
import { testApp, testStack, unacknowledgedFindings } from '../../support/cdk';

const ISSUER = 'https://id.shop.test/';
const CACHE_PORT = 6380;

/** CloudFormation read back from a synthesised template; each test asserts the shape it relies on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

interface Fixture {
  readonly stack: Stack;
  readonly api: CacheApi;
  readonly cache: RedisCache;
  readonly database: OriginDatabase;
  readonly network: CachePyramidNetwork;
}

function fixture(props: Partial<CacheApiProps> = {}, stack: Stack = testStack()): Fixture {
  const network = new CachePyramidNetwork(stack, 'Network');
  const cache = new RedisCache(stack, 'Cache', { vpc: network.vpc, replicationGroupId: 'cp-test', port: CACHE_PORT });
  const database = new OriginDatabase(stack, 'Database', { vpc: network.vpc, stage: DatabaseStage.DEV });
  const api = new CacheApi(stack, 'Api', {
    vpc: network.vpc,
    cache,
    database,
    jwtIssuer: ISSUER,
    jwtAudience: ['cache-pyramid'],
    ...props,
  });
  return { stack, api, cache, database, network };
}

function resources(template: Template, type: string): Array<[string, CfnJson]> {
  return Object.entries(template.findResources(type));
}

function functionProps(template: Template, description: RegExp): CfnJson {
  const found = resources(template, 'AWS::Lambda::Function').find(([, r]) => description.test(r.Properties.Description ?? ''));
  if (!found) throw new Error(`no function described ${description}`);
  return found[1].Properties;
}

function policyStatementsOf(template: Template, roleLogicalId: string): CfnJson[] {
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: CfnJson) => r.Ref === roleLogicalId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

describe('CacheApi', () => {
  describe('routes and authorizer', () => {
    it('puts the JWT authorizer on exactly the per-user and write routes', () => {
      const { stack } = fixture();
      const template = Template.fromStack(stack);
      const authorization = Object.fromEntries(
        resources(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, r.Properties.AuthorizationType]),
      );
      expect(authorization).toEqual({
        'GET /api/products/{id}': 'NONE',
        'HEAD /api/products/{id}': 'NONE',
        'GET /api/products': 'NONE',
        'HEAD /api/products': 'NONE',
        'GET /api/config': 'NONE',
        'HEAD /api/config': 'NONE',
        'GET /health': 'NONE',
        'HEAD /health': 'NONE',
        'GET /api/users/{id}': 'JWT',
        'HEAD /api/users/{id}': 'JWT',
        'PATCH /api/users/{id}/profile': 'JWT',
        'PUT /api/products/{id}': 'JWT',
        'POST /api/orders': 'JWT',
        'GET /api/orders/{id}': 'JWT',
        'HEAD /api/orders/{id}': 'JWT',
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'PUT /api/products/{id}', AuthorizationScopes: ['products:write'] });
    });

    it('checks issuer and audience of the token CloudFront copies out of Authorization', () => {
      const { stack } = fixture({ jwtAudience: ['web', 'mobile'] });
      Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: [`$request.header.${VIEWER_AUTHORIZATION_HEADER}`],
        JwtConfiguration: { Issuer: ISSUER, Audience: ['web', 'mobile'] },
      });
    });

    it('declares the given routes only', () => {
      const { stack } = fixture({ routes: [{ routeKey: 'GET /health', jwt: false, query: [] }] });
      expect(resources(Template.fromStack(stack), 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey).sort()).toEqual([
        'GET /health',
        'HEAD /health',
      ]);
    });

    it('lets API Gateway invoke the API function for this API only, once for every route', () => {
      const { stack, api } = fixture();
      const template = Template.fromStack(stack);
      const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com');
      expect(permissions).toHaveLength(1);
      expect(stack.resolve(permissions[0][1].Properties.SourceArn)).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:111111111111:', { Ref: stack.getLogicalId(api.httpApi.node.defaultChild as never) }, '/*/*/*']],
      });
    });

    it('exposes the execute-api host for the CloudFront origin', () => {
      const { stack, api } = fixture();
      expect(stack.resolve(api.apiDomainName)).toEqual({
        'Fn::Join': ['', [{ Ref: stack.getLogicalId(api.httpApi.node.defaultChild as never) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }]],
      });
    });
  });

  describe('stage', () => {
    it('auto-deploys the $default stage, throttled, with JSON access logs in a KMS-encrypted group kept a year', () => {
      const { stack, api } = fixture({ throttlingRateLimitPerSecond: 200, throttlingBurstLimit: 400 });
      const template = Template.fromStack(stack);
      const stage = resources(template, 'AWS::ApiGatewayV2::Stage')[0][1].Properties;
      expect(stage).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 } });
      expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(api.accessLogGroup.node.defaultChild as never), 'Arn'] });
      expect(Object.keys(JSON.parse(stage.AccessLogSettings.Format))).toEqual(
        expect.arrayContaining(['requestId', 'routeKey', 'status', 'integrationError', 'authorizerError']),
      );
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 365,
        KmsKeyId: { 'Fn::GetAtt': [stack.getLogicalId(api.encryptionKey.node.defaultChild as never), 'Arn'] },
      });
    });
  });

  describe('write-behind queue', () => {
    it('is FIFO without content-based deduplication, KMS-encrypted, SSL-only, and dead-letters after 5 receives', () => {
      const { stack, api } = fixture();
      const template = Template.fromStack(stack);
      const key = { 'Fn::GetAtt': [stack.getLogicalId(api.encryptionKey.node.defaultChild as never), 'Arn'] };
      const dlqId = stack.getLogicalId(api.writeBehindDlq.node.defaultChild as never);
      template.hasResourceProperties('AWS::SQS::Queue', {
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        KmsMasterKeyId: key,
        VisibilityTimeout: 180,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
      });
      template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, KmsMasterKeyId: key, MessageRetentionPeriod: 1_209_600 });
      for (const queue of [api.writeBehindQueue, api.writeBehindDlq]) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: stack.getLogicalId(queue.node.defaultChild as never) }],
          PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
        });
      }
    });

    it('bounds the flusher through the event source (5 at once by default) and reserves no concurrency unless asked', () => {
      const { stack } = fixture();
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
      expect(functionProps(template, /flusher/)).not.toHaveProperty('ReservedConcurrentExecutions');
      expect(JSON.stringify(template.toJSON())).not.toContain('ReservedConcurrentExecutions');
    });

    it('feeds the flusher in batches of at most 10 with partial batch failures, and keeps a reservation when one is asked for', () => {
      const { stack, api } = fixture({ flusherMaxConcurrency: 3, flusherReservedConcurrency: 3, flusherBatchSize: 8, writeBehindMaxReceiveCount: 7 });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [stack.getLogicalId(api.writeBehindQueue.node.defaultChild as never), 'Arn'] },
        BatchSize: 8,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 3 },
      });
      const flusher = functionProps(template, /flusher/);
      expect(flusher.ReservedConcurrentExecutions).toBe(3);
      expect(flusher.Timeout).toBe(30);
      expect(flusher.Environment.Variables).toMatchObject({
        // 30 s less the statement timeout and a second: a resuming Aurora (about 15 s) fits in it.
        DB_CONNECT_RETRY_BUDGET_MS: '26500',
        WRITE_BEHIND_DLQ_URL: { Ref: stack.getLogicalId(api.writeBehindDlq.node.defaultChild as never) },
        WRITE_BEHIND_MAX_RECEIVE_COUNT: '7',
      });
      template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 7 }) });
    });
  });

  describe('functions in the VPC', () => {
    it('runs both functions in the isolated subnets with their own security groups', () => {
      const { stack, network } = fixture();
      const template = Template.fromStack(stack);
      const isolated = network.vpc.isolatedSubnets.map((s) => stack.resolve(s.subnetId));
      for (const description of [/API:/, /flusher/]) {
        const vpcConfig = functionProps(template, description).VpcConfig;
        expect(vpcConfig.SubnetIds).toEqual(isolated);
        expect(vpcConfig.SecurityGroupIds).toHaveLength(1);
      }
      expect(functionProps(template, /API:/).VpcConfig.SecurityGroupIds).not.toEqual(functionProps(template, /flusher/).VpcConfig.SecurityGroupIds);
    });

    it('opens the cache port and the database port to the two functions and to nothing else', () => {
      const { stack, api, cache, database } = fixture();
      const template = Template.fromStack(stack);
      const apiSg = stack.resolve(api.apiFunction.connections.securityGroups[0].securityGroupId);
      const flusherSg = stack.resolve(api.flusherFunction.connections.securityGroups[0].securityGroupId);
      const sources = (group: { securityGroupId: string }) =>
        resources(template, 'AWS::EC2::SecurityGroupIngress')
          .map(([, r]) => r.Properties)
          .filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(stack.resolve(group.securityGroupId)))
          .map((r) => ({ source: r.SourceSecurityGroupId, ports: [r.IpProtocol, r.FromPort, r.ToPort] }));
      expect(sources(cache.securityGroup)).toEqual(
        expect.arrayContaining([
          { source: apiSg, ports: ['tcp', CACHE_PORT, CACHE_PORT] },
          { source: flusherSg, ports: ['tcp', CACHE_PORT, CACHE_PORT] },
        ]),
      );
      expect(sources(cache.securityGroup)).toHaveLength(2);
      expect(sources(database.securityGroup)).toEqual(
        expect.arrayContaining([
          { source: apiSg, ports: ['tcp', 5432, 5432] },
          { source: flusherSg, ports: ['tcp', 5432, 5432] },
        ]),
      );
    });

    it('lets the functions out only to the cache, the database and HTTPS inside the VPC', () => {
      const { stack, api } = fixture();
      const template = Template.fromStack(stack);
      const egress = (fnSg: unknown) =>
        resources(template, 'AWS::EC2::SecurityGroupEgress')
          .map(([, r]) => r.Properties)
          .filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(fnSg))
          .map((r) => `${r.CidrIp ? 'vpc' : 'sg'}:${r.FromPort}`)
          .sort();
      expect(egress(stack.resolve(api.apiFunction.connections.securityGroups[0].securityGroupId))).toEqual(['sg:5432', `sg:${CACHE_PORT}`]);
      expect(egress(stack.resolve(api.flusherFunction.connections.securityGroups[0].securityGroupId))).toEqual(['sg:5432', `sg:${CACHE_PORT}`]);
      // The CIDR rule is inline, so EC2 drops its default allow-all egress rule.
      const functionGroups = resources(template, 'AWS::EC2::SecurityGroup').filter(([id]) => id.startsWith('Api'));
      expect(functionGroups).toHaveLength(2);
      for (const [, sg] of functionGroups) {
        expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: { 'Fn::GetAtt': [expect.stringMatching(/Vpc/), 'CidrBlock'] } })]);
      }
    });
  });

  describe('configuration and IAM', () => {
    it('configures the API function from the cache, the database, the origin secret, the queue and the TTL table', () => {
      const { stack, api } = fixture({ cacheTtlSeconds: { [TtlClass.PRODUCT]: 600 } });
      const env = functionProps(Template.fromStack(stack), /API:/).Environment.Variables;
      expect(env).toMatchObject({
        CACHE_ENDPOINT: expect.anything(),
        CACHE_TLS: 'true',
        CACHE_CLUSTER_MODE: 'false',
        CACHE_AUTH_SECRET_ARN: expect.anything(),
        DB_HOST: expect.anything(),
        DB_NAME: 'cache_pyramid',
        DB_SECRET_ARN: expect.anything(),
        // The 10 s timeout less the statement timeout and a second: a 503 comes before Lambda's timeout.
        DB_CONNECT_RETRY_BUDGET_MS: '6500',
        ORIGIN_VERIFY_SECRET_ARN: { Ref: stack.getLogicalId(api.originVerifySecret.node.defaultChild as never) },
        WRITE_BEHIND_QUEUE_URL: { Ref: stack.getLogicalId(api.writeBehindQueue.node.defaultChild as never) },
        CACHE_TTLS: '{"product":600}',
      });
      expect(env).not.toHaveProperty('JWT_ISSUER');
    });

    it('configures the flusher with the database, the cache (to refresh profiles it wrote), the DLQ and the TTL table', () => {
      const { stack } = fixture({ cacheTtlSeconds: { [TtlClass.USER_PROFILE]: 900 } });
      const env = functionProps(Template.fromStack(stack), /flusher/).Environment.Variables;
      expect(env).toMatchObject({ DB_SECRET_ARN: expect.anything(), CACHE_ENDPOINT: expect.anything(), CACHE_TTLS: '{"user_profile":900}' });
      expect(env).not.toHaveProperty('WRITE_BEHIND_QUEUE_URL');
      expect(env).not.toHaveProperty('ORIGIN_VERIFY_SECRET_ARN');
    });

    it('scopes every statement of the API role to named resources, except X-Ray', () => {
      const { stack, api, cache, database } = fixture();
      const template = Template.fromStack(stack);
      const statements = policyStatementsOf(template, stack.getLogicalId(api.apiFunction.role!.node.defaultChild as never));
      const unscoped = statements.filter((s) => s.Resource === '*');
      expect(unscoped.flatMap((s) => [s.Action].flat()).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      const arn = (value: string) => stack.resolve(value);
      expect(statements.filter((s) => s.Resource !== '*')).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: [arn(api.originVerifySecret.secretArn), arn(cache.authSecret!.secretArn), arn(database.secret.secretArn)],
        },
        { Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: arn(api.writeBehindQueue.queueArn) },
        { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'], Resource: arn(api.encryptionKey.keyArn) },
      ]);
    });

    it('lets the flusher consume the queue and send only to the dead-letter queue', () => {
      const { stack, api } = fixture();
      const statements = policyStatementsOf(Template.fromStack(stack), stack.getLogicalId(api.flusherFunction.role!.node.defaultChild as never));
      const arn = (queue: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as never), 'Arn'] });
      const sqsStatements = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('sqs:')));
      expect(sqsStatements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']), Resource: arn(api.writeBehindQueue) }),
          expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: arn(api.writeBehindDlq) }),
        ]),
      );
      const sendTargets = sqsStatements.filter((s) => [s.Action].flat().includes('sqs:SendMessage')).map((s) => s.Resource);
      expect(sendTargets).toEqual([arn(api.writeBehindDlq)]);
    });

    it('generates the origin-verify secret as JSON whose current value has no punctuation (it travels as a header value)', () => {
      const { stack } = fixture();
      Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'current', PasswordLength: 48, ExcludePunctuation: true },
        Description: Match.stringLikeRegexp('x-origin-verify'),
      });
    });
  });

  it('leaves no cdk-nag or Control Tower finding on its own resources unacknowledged', () => {
    const app = testApp();
    fixture({}, testStack({}, app));
    const ownFindings = unacknowledgedFindings(app).filter((f) => f.constructPaths.some((p) => p.startsWith('Test/Api/')));
    expect(ownFindings).toEqual([]);
  });

  describe('invalid props', () => {
    const cases: Array<[string, Partial<CacheApiProps>, RegExp]> = [
      ['an http issuer', { jwtIssuer: 'http://id.shop.test/' }, /`jwtIssuer` must be an https URL.*http:\/\/id\.shop\.test/],
      ['a placeholder issuer (example.*)', { jwtIssuer: 'https://auth.example.com/' }, /`jwtIssuer` is a placeholder \(example\.\*\) that serves no keys.*auth\.example\.com/],
      ['an issuer that is not a URL', { jwtIssuer: 'auth.example.com' }, /`jwtIssuer` must be an https URL.*"auth\.example\.com"/],
      ['no audience', { jwtAudience: [] }, /`jwtAudience` must list at least one non-empty audience, got \[\]/],
      ['a blank audience', { jwtAudience: [' '] }, /`jwtAudience` must list at least one non-empty audience/],
      ['a malformed route key', { routes: [{ routeKey: 'FETCH /x', jwt: false, query: [] }] }, /route key of `routes` must be "<METHOD> \/path", got "FETCH \/x"/],
      ['a route declared twice', { routes: [{ routeKey: 'POST /api/orders', jwt: true, query: [] }, { routeKey: 'POST /api/orders', jwt: true, query: [] }] }, /`routes` declares POST \/api\/orders twice/],
      ['scopes on a public route', { routes: [{ routeKey: 'GET /x', jwt: false, query: [], scopes: ['a'] }] }, /route GET \/x has `scopes` but no JWT authorizer/],
      ['a rate limit of 0', { throttlingRateLimitPerSecond: 0 }, /`throttlingRateLimitPerSecond` must be an integer between 1 and 10000, got 0/],
      ['a fractional burst', { throttlingBurstLimit: 1.5 }, /`throttlingBurstLimit` must be an integer between 1 and 5000, got 1.5/],
      ['too little memory', { apiMemoryMiB: 64 }, /`apiMemoryMiB` must be an integer between 128 and 10240, got 64/],
      ['a flusher reservation of 1', { flusherReservedConcurrency: 1 }, /`flusherReservedConcurrency` must be an integer between 2 and 1000, got 1/],
      ['a flusher maximum concurrency of 1 (SQS starts at 2)', { flusherMaxConcurrency: 1 }, /`flusherMaxConcurrency` must be an integer between 2 and 1000, got 1/],
      ['a reservation below the maximum concurrency', { flusherMaxConcurrency: 6, flusherReservedConcurrency: 4 }, /`flusherReservedConcurrency` must be at least `flusherMaxConcurrency` \(6\), got 4/],
      ['a FIFO batch over 10', { flusherBatchSize: 11 }, /`flusherBatchSize` must be an integer between 1 and 10, got 11/],
      ['no receives before the DLQ', { writeBehindMaxReceiveCount: 0 }, /`writeBehindMaxReceiveCount` must be an integer between 1 and 1000, got 0/],
      ['an unknown TTL class', { cacheTtlSeconds: { sessions: 60 } as never }, /`cacheTtlSeconds` is invalid: cacheTtlSeconds has unknown class "sessions"/],
      ['a TTL of 0', { cacheTtlSeconds: { [TtlClass.CONFIG]: 0 } }, /`cacheTtlSeconds` is invalid: cacheTtlSeconds\.config must be an integer between 1 and 2592000 seconds, got 0/],
    ];
    it.each(cases)('rejects %s', (_name, props, message) => {
      expect(() => fixture(props)).toThrow(message);
    });
  });

  describe('l1Bus', () => {
    it('leaves CACHE_L1_BUS unset by default, so the function runs with the bus off', () => {
      const env = functionProps(Template.fromStack(fixture().stack), /API:/).Environment.Variables;
      expect(env).not.toHaveProperty('CACHE_L1_BUS');
    });

    it.each(Object.values(L1Bus))('sets CACHE_L1_BUS=%s, a mode the function accepts', (mode) => {
      const env = functionProps(Template.fromStack(fixture({ l1Bus: mode }).stack), /API:/).Environment.Variables;
      expect(env.CACHE_L1_BUS).toBe(mode);
      expect(Object.values(BusMode)).toContain(mode);
    });

    it('covers every mode of the function', () => {
      expect([...Object.values(L1Bus)].sort()).toEqual([...Object.values(BusMode)].sort());
    });

    it('rejects an unknown mode and the bus set twice, naming the props', () => {
      expect(() => fixture({ l1Bus: 'always' as L1Bus })).toThrow('CacheApi: `l1Bus` must be one of off, listen, sync, got "always"');
      expect(() => fixture({ l1Bus: L1Bus.SYNC, apiEnvironment: { CACHE_L1_BUS: 'listen' } })).toThrow(
        'CacheApi: set the L1 bus with `l1Bus` or `apiEnvironment.CACHE_L1_BUS`, not both (got "sync" and "listen")',
      );
    });
  });
});
