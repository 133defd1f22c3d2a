import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeCacheClustersCommand,
  DescribeEventsCommand,
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  TestFailoverCommand,
} from '@aws-sdk/client-elasticache';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { realClients } from '../../../lib/ops/cli';
import { ExitCode } from '../../../lib/ops/errors';
import { AwsMocks, FakeClock, REGION, STACK, awsError, awsMocks, cli, restore, shardedGroup, singleShardGroup, stackWithOutputs } from './support';

let mocks: AwsMocks;
beforeEach(() => {
  mocks = awsMocks();
});
afterEach(() => restore(mocks));

const NODE_OUTPUTS = { ReplicationGroupId: 'rg', EventBusName: 'pyramid-bus', DistributionId: 'E1EXAMPLE', AlarmPrefix: 'CachePyramid-dev' };

describe('arguments', () => {
  test('no command prints the usage and exits 2; --help prints it and exits 0', async () => {
    const none = await cli([]);
    expect(none.code).toBe(ExitCode.USAGE);
    expect(none.stdout).toMatch(/^Usage: cache-pyramid <command>/);
    const help = await cli(['--help']);
    expect(help.code).toBe(ExitCode.OK);
    expect(help.stdout).toContain('failover-drill --yes');
  });

  test.each<[string, string[], RegExp]>([
    ['an unknown command', ['restart'], /Unknown command 'restart'/],
    ['an unknown option', ['status', '--force'], /Unknown option '--force'/],
    ['an option of another command', ['status', '--yes'], /--yes is not an option of status/],
    ['arguments to a command without any', ['status', 'extra'], /status takes no arguments, got 'extra'/],
    ['an invalid --state', ['alarms', '--state', 'RED'], /--state must be one of ALARM, INSUFFICIENT_DATA, OK, got 'RED'/],
    ['a non-numeric --interval', ['failover-drill', '--yes', '--interval', 'soon'], /--interval must be a whole number of seconds between 1 and 86400, got 'soon'/],
    ['invalidate without anything to invalidate', ['invalidate'], /invalidate needs at least one path/],
    ['--direct with --key', ['invalidate', '/a', '--direct', '--key', 'app:v1:product:1'], /--direct sends paths to CloudFront only/],
  ])('rejects %s with exit 2 before calling AWS', async (_case, argv, message) => {
    const run = await cli(argv);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toMatch(message);
    expect(mocks.cloudFormation.calls()).toHaveLength(0);
  });

  test('--json reports errors as JSON on stdout', async () => {
    const run = await cli(['status', '--json', '--yes']);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.json()).toEqual({ error: '--yes is not an option of status.', exitCode: 2 });
  });
});

describe('as a program', () => {
  const root = path.join(__dirname, '..', '..', '..');
  const run = (...args: string[]) =>
    spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'lib', 'ops', 'cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });

  test('`tsx lib/ops/cli.ts` runs main and exits with its code', () => {
    const help = run('--help');
    expect(help.status).toBe(ExitCode.OK);
    expect(help.stdout).toMatch(/^Usage: cache-pyramid <command>/);
    const wrong = run('failover-drill', '--state', 'OK');
    expect(wrong.status).toBe(ExitCode.USAGE);
    expect(wrong.stderr).toContain('cache-pyramid: --state is not an option of failover-drill.');
  });
});

describe('finding the stack', () => {
  test('an unknown stack exits 3 naming the stack and the region', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id Nope does not exist'));
    const run = await cli(['status', '--stack', 'Nope']);
    expect(run.code).toBe(ExitCode.ENVIRONMENT);
    expect(run.stderr).toBe(`cache-pyramid: Stack 'Nope' does not exist in ${REGION}. Deploy it (npx cdk deploy), or pass --stack NAME and --region REGION.`);
  });

  test('the stack name defaults to CACHE_PYRAMID_STACK, then CachePyramid-dev', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS, 'CachePyramid-prod');
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [singleShardGroup()] });
    mocks.elastiCache.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [{ EngineVersion: '8.1.0' }] });
    const fromEnv = await cli(['status'], { env: { CACHE_PYRAMID_STACK: 'CachePyramid-prod' } });
    expect(fromEnv.code).toBe(ExitCode.OK);
    expect(fromEnv.stdout).toMatch(/^Stack CachePyramid-prod: replication group rg/);
    mocks.cloudFormation.on(DescribeStacksCommand, { StackName: STACK }).rejects(awsError('ValidationError', `Stack with id ${STACK} does not exist`));
    expect((await cli(['status'])).stderr).toContain(`Stack '${STACK}' does not exist`);
  });

  test('a stack without the cache outputs exits 3 and says which outputs it looked for', async () => {
    stackWithOutputs(mocks, { EventBusName: 'bus' });
    const run = await cli(['status']);
    expect(run.code).toBe(ExitCode.ENVIRONMENT);
    expect(run.stderr).toContain("has neither a 'ReplicationGroupId' nor a 'ServerlessCacheName' output");
  });

  test('without credentials the real SDK chain fails and the CLI says how to provide them', async () => {
    restore(mocks);
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    Object.assign(process.env, {
      AWS_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
    });
    try {
      const run = await cli(['status', '--json'], { clients: realClients });
      expect(run.code).toBe(ExitCode.ENVIRONMENT);
      expect(run.json<{ error: string }>().error).toMatch(/^No AWS credentials found\. Set AWS_PROFILE/);
    } finally {
      process.env = saved;
      mocks = awsMocks();
    }
  });

  test('without a region the CLI asks for --region', async () => {
    const saved = { ...process.env };
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    try {
      const run = await cli(['status'], { clients: realClients });
      expect(run.code).toBe(ExitCode.ENVIRONMENT);
      expect(run.stderr).toBe('cache-pyramid: No AWS region configured. Pass --region, or set AWS_REGION or a region in your AWS profile.');
    } finally {
      process.env = saved;
    }
  });

  test.each<[string, string, RegExp]>([
    ['ExpiredTokenException', 'The security token included in the request is expired', /credentials have expired/],
    ['InvalidClientTokenId', 'The security token included in the request is invalid', /AWS rejected the credentials \(InvalidClientTokenId\)/],
    ['AccessDenied', 'User is not authorized to perform: cloudformation:DescribeStacks', /Access denied for cloudformation:DescribeStacks/],
  ])('%s exits 3 with a message that says what to do', async (name, message, expected) => {
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(awsError(name, message));
    const run = await cli(['alarms']);
    expect(run.code).toBe(ExitCode.ENVIRONMENT);
    expect(run.stderr).toMatch(expected);
  });

  test('any other AWS failure exits 1 naming the call', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const run = await cli(['status']);
    expect(run.code).toBe(ExitCode.FAILED);
    expect(run.stderr).toBe('cache-pyramid: cloudformation:DescribeStacks failed: ThrottlingException: Rate exceeded');
  });
});

describe('status', () => {
  test('a cluster-mode-disabled group: engine, endpoints, and every node with its role and zone', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'rg' }).resolves({ ReplicationGroups: [singleShardGroup({ primary: 'rg-002' })] });
    mocks.elastiCache.on(DescribeCacheClustersCommand, { CacheClusterId: 'rg-001' }).resolves({ CacheClusters: [{ CacheClusterId: 'rg-001', EngineVersion: '8.1.0' }] });
    const run = await cli(['status']);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout.split('\n')).toEqual([
      'Stack CachePyramid-dev: replication group rg',
      '  status        available',
      '  engine        valkey 8.1.0',
      '  node type     cache.t4g.small',
      '  cluster mode  disabled',
      '  failover      automatic enabled, Multi-AZ enabled',
      '  endpoint      master.rg.abc.euw1.cache.amazonaws.com:6380',
      '  reader        replica.rg.abc.euw1.cache.amazonaws.com:6380',
      '  shard 0001  available',
      '    rg-001                       replica  eu-west-1a',
      '    rg-002                       primary  eu-west-1b',
      '    rg-003                       replica  eu-west-1a',
    ]);
  });

  test('--json: a cluster-mode-enabled group lists each shard with its slots; roles are absent because ElastiCache does not report them', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [shardedGroup(3)] });
    mocks.elastiCache.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [{ EngineVersion: '8.1.0' }] });
    const run = await cli(['status', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    const { cache } = run.json<{ cache: { endpoint: string; clusterMode: boolean; shards: { id: string; slots: string; nodes: { id: string; role?: string }[] }[] } }>();
    expect(cache.endpoint).toBe('clustercfg.rg.abc.euw1.cache.amazonaws.com:6380');
    expect(cache.clusterMode).toBe(true);
    expect(cache.shards.map((shard) => [shard.id, shard.slots, shard.nodes.map((node) => node.id)])).toEqual([
      ['0001', '0-5460', ['rg-0001-001', 'rg-0001-002']],
      ['0002', '5461-10921', ['rg-0002-001', 'rg-0002-002']],
      ['0003', '10922-16383', ['rg-0003-001', 'rg-0003-002']],
    ]);
    expect(cache.shards.flatMap((shard) => shard.nodes.map((node) => node.role))).toEqual(Array(6).fill(undefined));
  });

  test('a serverless cache: status, engine version, endpoints and usage limits', async () => {
    stackWithOutputs(mocks, { ServerlessCacheName: 'sc', AlarmPrefix: 'p' });
    mocks.elastiCache.on(DescribeServerlessCachesCommand, { ServerlessCacheName: 'sc' }).resolves({
      ServerlessCaches: [
        {
          ServerlessCacheName: 'sc',
          Status: 'available',
          Engine: 'valkey',
          FullEngineVersion: '8.1',
          Endpoint: { Address: 'sc.serverless.euw1.cache.amazonaws.com', Port: 6379 },
          ReaderEndpoint: { Address: 'sc.serverless.euw1.cache.amazonaws.com', Port: 6380 },
          CacheUsageLimits: { DataStorage: { Maximum: 10, Unit: 'GB' }, ECPUPerSecond: { Maximum: 100000 } },
        },
      ],
    });
    const run = await cli(['status']);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toContain('serverless cache sc');
    expect(run.stdout).toContain('engine        valkey 8.1');
    expect(run.stdout).toContain('limits        10 GB data, 100000 ECPU/s');
  });

  test('a cache that is not available is printed and exits 4', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [singleShardGroup({ status: 'modifying' })] });
    mocks.elastiCache.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [{ EngineVersion: '8.1.0' }] });
    const run = await cli(['status', '--json']);
    expect(run.code).toBe(ExitCode.CACHE_NOT_AVAILABLE);
    expect(run.json<{ cache: { status: string } }>().cache.status).toBe('modifying');
  });

  test('a replication group deleted outside CloudFormation exits 3', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).rejects(awsError('ReplicationGroupNotFoundFault', 'ReplicationGroup rg not found.'));
    const run = await cli(['status']);
    expect(run.code).toBe(ExitCode.ENVIRONMENT);
    expect(run.stderr).toContain("The stack's replication group 'rg' does not exist");
  });
});

describe('alarms', () => {
  const alarm = (name: string, state: string, reason = '') => ({ AlarmName: name, StateValue: state as 'OK', StateReason: reason, StateUpdatedTimestamp: new Date('2025-06-01T11:00:00Z') });

  test('reads every page in the stack region and the CloudFront alarms in us-east-1, ALARM first, and exits 5 when one fires', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    const pages: Record<string, Record<string, { MetricAlarms: ReturnType<typeof alarm>[]; NextToken?: string }>> = {
      [REGION]: {
        first: { MetricAlarms: [alarm('CachePyramid-dev-cache-memory', 'OK'), alarm('CachePyramid-dev-cache-hit-rate', 'ALARM', '5 datapoints were less than 80')], NextToken: 'page2' },
        page2: { MetricAlarms: [alarm('CachePyramid-dev-db-capacity', 'INSUFFICIENT_DATA', 'Unchecked: Initial alarm creation')] },
      },
      'us-east-1': { first: { MetricAlarms: [alarm('CachePyramid-dev-edge-5xx-rate', 'OK')] } },
    };
    const prefixes: string[] = [];
    mocks.cloudWatch.on(DescribeAlarmsCommand).callsFake(async (input: { AlarmNamePrefix: string; NextToken?: string }, getClient) => {
      prefixes.push(input.AlarmNamePrefix);
      return pages[await getClient().config.region()][input.NextToken ?? 'first'];
    });
    const run = await cli(['alarms', '--json']);
    expect(run.code).toBe(ExitCode.ALARMS_FIRING);
    const { alarms } = run.json<{ alarms: { name: string; state: string; region: string; reason: string }[] }>();
    expect(alarms.map((a) => [a.state, a.name, a.region])).toEqual([
      ['ALARM', 'CachePyramid-dev-cache-hit-rate', REGION],
      ['INSUFFICIENT_DATA', 'CachePyramid-dev-db-capacity', REGION],
      ['OK', 'CachePyramid-dev-cache-memory', REGION],
      ['OK', 'CachePyramid-dev-edge-5xx-rate', 'us-east-1'],
    ]);
    expect(alarms[0].reason).toBe('5 datapoints were less than 80');
    expect(prefixes).toEqual(['CachePyramid-dev-', 'CachePyramid-dev-', 'CachePyramid-dev-']);
  });

  test('text output: one line per alarm with its region, and the reason under each one not OK; exit 0 when none fires', async () => {
    stackWithOutputs(mocks, { ...NODE_OUTPUTS, DistributionId: '' });
    mocks.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('CachePyramid-dev-cache-memory', 'OK'), alarm('CachePyramid-dev-cache-evictions', 'INSUFFICIENT_DATA', 'Unchecked')] });
    const run = await cli(['alarms']);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout.split('\n')).toEqual([
      'Stack CachePyramid-dev: 2 alarms, 0 in ALARM',
      `  INSUFFICIENT_DATA CachePyramid-dev-cache-evictions  ${REGION}  since 2025-06-01T11:00:00.000Z`,
      '                    Unchecked',
      `  OK                CachePyramid-dev-cache-memory     ${REGION}  since 2025-06-01T11:00:00.000Z`,
    ]);
  });

  test('--state ALARM asks CloudWatch for that state only', async () => {
    stackWithOutputs(mocks, { ...NODE_OUTPUTS, DistributionId: '' });
    mocks.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('CachePyramid-dev-cache-memory', 'OK')] });
    mocks.cloudWatch.on(DescribeAlarmsCommand, { StateValue: 'ALARM' }).resolves({ MetricAlarms: [] });
    const run = await cli(['alarms', '--state', 'ALARM']);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toBe('Stack CachePyramid-dev: no alarms named CachePyramid-dev-*');
  });

  test('a stack without an AlarmPrefix output exits 3', async () => {
    stackWithOutputs(mocks, { ReplicationGroupId: 'rg' });
    const run = await cli(['alarms']);
    expect(run.code).toBe(ExitCode.ENVIRONMENT);
    expect(run.stderr).toContain("has no output 'AlarmPrefix', which names the stack's alarms");
  });
});

describe('invalidate', () => {
  test('publishes one CacheInvalidation event with the paths, keys and reason on the stack\'s bus', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const run = await cli(['invalidate', '/api/products/42', '/api/products*', '--key', 'app:v1:product:42', '--reason', 'price fix']);
    expect(run.code).toBe(ExitCode.OK);
    const entries = mocks.eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ EventBusName: 'pyramid-bus', Source: 'cache-pyramid', DetailType: 'CacheInvalidation' });
    expect(JSON.parse(entries[0].Detail ?? '')).toEqual({ keys: ['app:v1:product:42'], paths: ['/api/products/42', '/api/products*'], reason: 'price fix' });
    expect(run.stdout).toContain('published a CacheInvalidation event for 2 path(s), 1 key(s) on bus pyramid-bus');
  });

  test('an entry EventBridge refuses for a transient reason is retried after a backoff', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const clock = new FakeClock();
    const run = await cli(['invalidate', '/a', '--json'], { clock });
    expect(run.code).toBe(ExitCode.OK);
    expect(mocks.eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(clock.sleeps).toHaveLength(1);
    expect(run.json<{ invalidation: { mode: string; paths: string[] } }>().invalidation).toMatchObject({ mode: 'event', paths: ['/a'] });
  });

  test('an entry EventBridge refuses for good exits 1 with its error code', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not allowed' }] });
    const run = await cli(['invalidate', '/a']);
    expect(run.code).toBe(ExitCode.FAILED);
    expect(run.stderr).toMatch(/events:PutEvents on bus pyramid-bus failed: .*CacheInvalidation \(AccessDeniedException\)/);
  });

  test('a bad path is refused with the reason and nothing is published', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    const run = await cli(['invalidate', 'api/products/42']);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toBe('cache-pyramid: paths[0]: "api/products/42": a path must begin with "/"');
    expect(mocks.eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  test('--direct: one CreateInvalidation with the paths encoded and deduplicated, a unique caller reference, and the invalidation id', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I2J3EXAMPLE', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined } });
    const run = await cli(['invalidate', '--direct', '/café', '/api/products/42', '/api/products/42', '/assets/*', '/assets/app.js', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    const [call] = mocks.cloudFront.commandCalls(CreateInvalidationCommand);
    expect(call.args[0].input.DistributionId).toBe('E1EXAMPLE');
    expect(call.args[0].input.InvalidationBatch?.Paths).toEqual({ Quantity: 3, Items: ['/api/products/42', '/assets/*', '/caf%C3%A9'] });
    expect(call.args[0].input.InvalidationBatch?.CallerReference).toMatch(/^cache-pyramid-cli-2025-06-01T12:00:00\.000Z-[0-9a-f]{16}$/);
    expect(run.json<{ invalidation: object }>().invalidation).toEqual({
      mode: 'direct',
      distributionId: 'E1EXAMPLE',
      invalidationId: 'I2J3EXAMPLE',
      status: 'InProgress',
      paths: ['/api/products/42', '/assets/*', '/caf%C3%A9'],
      addedWildcards: [],
    });
    expect(mocks.eventBridge.calls()).toHaveLength(0);
  });

  test('--direct reports every bad path at once and sends nothing', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    const run = await cli(['invalidate', '--direct', '/ok', 'no-slash', '/a*b']);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain('2 invalid path(s), nothing sent:');
    expect(run.stderr).toContain('"no-slash": a path must begin with "/"');
    expect(run.stderr).toContain('"/a*b": a "*" wildcard is allowed only as the last character');
    expect(mocks.cloudFront.calls()).toHaveLength(0);
  });

  test.each<[string, string, number, RegExp]>([
    ['TooManyInvalidationsInProgress', 'Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.', ExitCode.FAILED, /maximum invalidations in progress.*drop --direct/],
    ['NoSuchDistribution', 'The specified distribution does not exist.', ExitCode.ENVIRONMENT, /CloudFront distribution 'E1EXAMPLE' does not exist/],
  ])('--direct: %s exits with advice', async (name, message, code, expected) => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.cloudFront.on(CreateInvalidationCommand).rejects(awsError(name, message));
    const run = await cli(['invalidate', '--direct', '/a']);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(expected);
  });

  test('a stack without the bus (or distribution) output exits 3', async () => {
    stackWithOutputs(mocks, { ReplicationGroupId: 'rg' });
    expect((await cli(['invalidate', '/a'])).stderr).toContain("has no output 'EventBusName'");
    expect((await cli(['invalidate', '/a', '--direct'])).stderr).toContain("has no output 'DistributionId'");
  });
});

describe('failover-drill', () => {
  const events = (...messages: string[]) => ({ Events: messages.map((Message, i) => ({ Message, Date: new Date(Date.UTC(2025, 5, 1, 12, i)), SourceIdentifier: 'rg', SourceType: 'replication-group' as const })) });

  test('without --yes it says what it would do, exits 2 and sends no TestFailover', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [singleShardGroup()] });
    const run = await cli(['failover-drill']);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toBe(
      'cache-pyramid: failover-drill would fail over shard 0001 of rg (primary rg-001): writes to that shard fail for some seconds while a replica is promoted. Run it again with --yes to start.',
    );
    expect(mocks.elastiCache.commandCalls(TestFailoverCommand)).toHaveLength(0);
  });

  test('with --yes it fails over the shard and reports progress until the group is available again', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache
      .on(DescribeReplicationGroupsCommand)
      .resolvesOnce({ ReplicationGroups: [singleShardGroup()] })
      .resolvesOnce({ ReplicationGroups: [singleShardGroup({ status: 'modifying' })] })
      .resolvesOnce({ ReplicationGroups: [singleShardGroup({ status: 'modifying', primary: 'rg-002' })] })
      .resolves({ ReplicationGroups: [singleShardGroup({ primary: 'rg-002' })] });
    mocks.elastiCache.on(TestFailoverCommand, { ReplicationGroupId: 'rg', NodeGroupId: '0001' }).resolves({ ReplicationGroup: singleShardGroup({ status: 'modifying' }) });
    mocks.elastiCache
      .on(DescribeEventsCommand)
      .resolvesOnce(events('Test Failover API called for node group 0001'))
      .resolves(events('Test Failover API called for node group 0001', 'Failover to replica node rg-002 completed'));
    const clock = new FakeClock();
    const run = await cli(['failover-drill', '--yes', '--interval', '10'], { clock });
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toBe('Stack CachePyramid-dev: failover drill on shard 0001 of rg finished in 30 s; the group is available. Primary rg-001 -> rg-002.');
    expect(run.stderr.split('\n')).toEqual([
      'TestFailover started on shard 0001 of rg; checking every 10 s (up to 1800 s)...',
      '  +  10 s  group modifying, shard modifying, primary rg-001',
      '           event: Test Failover API called for node group 0001',
      '  +  20 s  group modifying, shard modifying, primary rg-002',
      '           event: Failover to replica node rg-002 completed',
      '  +  30 s  group available, shard available, primary rg-002',
    ]);
    expect(clock.sleeps).toEqual([10_000, 10_000, 10_000]);
    expect(mocks.elastiCache.commandCalls(TestFailoverCommand)).toHaveLength(1);
  });

  test('--json carries the whole progress; --shard picks the node group of a sharded cluster', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache
      .on(DescribeReplicationGroupsCommand)
      .resolvesOnce({ ReplicationGroups: [shardedGroup(3)] })
      .resolvesOnce({ ReplicationGroups: [shardedGroup(3, 'modifying')] })
      .resolves({ ReplicationGroups: [shardedGroup(3)] });
    mocks.elastiCache.on(TestFailoverCommand).resolves({ ReplicationGroup: shardedGroup(3, 'modifying') });
    mocks.elastiCache.on(DescribeEventsCommand).resolves({ Events: [] });
    const run = await cli(['failover-drill', '--yes', '--shard', '0002', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    expect(mocks.elastiCache.commandCalls(TestFailoverCommand)[0].args[0].input).toEqual({ ReplicationGroupId: 'rg', NodeGroupId: '0002' });
    const { drill } = run.json<{ drill: { shardId: string; durationSeconds: number; progress: { groupStatus: string }[] } }>();
    expect(drill.shardId).toBe('0002');
    expect(drill.durationSeconds).toBe(30);
    expect(drill.progress.map((p) => p.groupStatus)).toEqual(['modifying', 'available']);
  });

  test('a group that stays available after TestFailover is not taken as done until the failover shows', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache
      .on(DescribeReplicationGroupsCommand)
      .resolvesOnce({ ReplicationGroups: [singleShardGroup()] })
      .resolvesOnce({ ReplicationGroups: [singleShardGroup()] })
      .resolves({ ReplicationGroups: [singleShardGroup({ primary: 'rg-003' })] });
    mocks.elastiCache.on(TestFailoverCommand).resolves({ ReplicationGroup: singleShardGroup() });
    mocks.elastiCache
      .on(DescribeEventsCommand)
      .resolvesOnce({ Events: [] })
      .resolves(events('Failover from primary node rg-001 to replica node rg-003 completed'));
    const run = await cli(['failover-drill', '--yes', '--interval', '5', '--json']);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.json<{ drill: { progress: unknown[]; primaryAfter: string } }>().drill).toMatchObject({ primaryAfter: 'rg-003', progress: [expect.anything(), expect.anything()] });
  });

  test('gives up after --timeout with exit 6', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache
      .on(DescribeReplicationGroupsCommand)
      .resolvesOnce({ ReplicationGroups: [singleShardGroup()] })
      .resolves({ ReplicationGroups: [singleShardGroup({ status: 'modifying' })] });
    mocks.elastiCache.on(TestFailoverCommand).resolves({ ReplicationGroup: singleShardGroup({ status: 'modifying' }) });
    mocks.elastiCache.on(DescribeEventsCommand).resolves({ Events: [] });
    const clock = new FakeClock();
    const run = await cli(['failover-drill', '--yes', '--interval', '60', '--timeout', '300'], { clock });
    expect(run.code).toBe(ExitCode.TIMED_OUT);
    expect(run.stderr).toContain('Replication group rg was not available again 300 s after TestFailover on shard 0001');
    expect(clock.sleeps).toEqual([60_000, 60_000, 60_000, 60_000, 60_000, 60_000]);
  });

  test.each<[string, () => object, number, RegExp]>([
    ['a group that is not available', () => ({ ReplicationGroups: [singleShardGroup({ status: 'snapshotting' })] }), ExitCode.CACHE_NOT_AVAILABLE, /is 'snapshotting', not 'available'/],
    ['a group without replicas', () => ({ ReplicationGroups: [singleShardGroup({ members: 1 })] }), ExitCode.CACHE_NOT_AVAILABLE, /cannot fail over: automatic failover is 'disabled' and shard 0001 has 1 node/],
  ])('refuses %s before any TestFailover', async (_case, group, code, message) => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves(group());
    const run = await cli(['failover-drill', '--yes']);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(mocks.elastiCache.commandCalls(TestFailoverCommand)).toHaveLength(0);
  });

  test('an unknown shard exits 2 listing the shards', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [shardedGroup(2)] });
    const run = await cli(['failover-drill', '--yes', '--shard', '0009']);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toBe("cache-pyramid: Replication group rg has no shard '0009'; its shards are 0001, 0002.");
  });

  test('ElastiCache refusing the test (quota of tested shards) exits 4 with its message', async () => {
    stackWithOutputs(mocks, NODE_OUTPUTS);
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [singleShardGroup()] });
    mocks.elastiCache.on(TestFailoverCommand).rejects(awsError('TestFailoverNotAvailableFault', 'TestFailover is not available for node group 0001'));
    const run = await cli(['failover-drill', '--yes']);
    expect(run.code).toBe(ExitCode.CACHE_NOT_AVAILABLE);
    expect(run.stderr).toContain('ElastiCache refused the drill on shard 0001: TestFailover is not available for node group 0001');
  });

  test('a serverless cache has nothing to drill: exit 4', async () => {
    stackWithOutputs(mocks, { ServerlessCacheName: 'sc' });
    const run = await cli(['failover-drill', '--yes']);
    expect(run.code).toBe(ExitCode.CACHE_NOT_AVAILABLE);
    expect(run.stderr).toContain("runs the serverless cache 'sc', which has no shards to fail over");
  });
});
