import { Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CachePyramidEdgeMonitoring } from '../../../lib/monitoring/cache-pyramid-edge-monitoring';
import { CachePyramidMonitoring } from '../../../lib/monitoring/cache-pyramid-monitoring';
import { TEST_ENV, testApp, unacknowledgedFindings } from '../../support/cdk';
import { threeShardsOneReplica } from './support';

test('the monitoring constructs pass cdk-nag AwsSolutions and the cfn-guard Control Tower rules with no acknowledgement', () => {
  const app = testApp();
  const main = new Stack(app, 'Main', { env: TEST_ENV });
  const dlq = new sqs.Queue(main, 'Dlq', { enforceSSL: true });
  const queue = new sqs.Queue(main, 'Queue', { enforceSSL: true, deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } });
  const fn = new lambda.Function(main, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout: Duration.seconds(10),
  });
  new CachePyramidMonitoring(main, 'Monitoring', {
    alarmEmail: 'oncall@example.com',
    cache: threeShardsOneReplica(main),
    serviceName: 'api',
    functions: [{ name: 'api', function: fn }],
    queues: [{ name: 'work', queue }],
    database: { clusterIdentifier: 'origin-db', maxCapacityAcu: 8 },
    distributionId: 'E1EXAMPLE',
  });
  const edge = new Stack(app, 'Edge', { env: { account: TEST_ENV.account, region: 'us-east-1' } });
  new CachePyramidEdgeMonitoring(edge, 'EdgeMonitoring', { alarmNamePrefix: 'Main', distributionId: 'E1EXAMPLE', alarmEmail: 'oncall@example.com' });

  // The fixtures around the monitoring (a bare function, queues, the cache) have findings of their own.
  const ours = unacknowledgedFindings(app).filter((finding) =>
    finding.constructPaths.some((path) => path.startsWith('Main/Monitoring') || path.startsWith('Edge/EdgeMonitoring')),
  );
  expect(ours).toEqual([]);
});
