import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CachePyramidFunction } from '../../../lib/api/api-function';
import { ClusterMode, RedisCache } from '../../../lib/cache/redis-cache';
import { ServerlessRedisCache } from '../../../lib/cache/serverless-redis-cache';
import { DatabaseStage, OriginDatabase } from '../../../lib/database/origin-database';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';

/**
 * The data layer as a user composes it, checked by cdk-nag's AwsSolutions pack the way the app
 * runs it (a policy-validation plugin): synthesis fails on any unacknowledged finding.
 */
function dataLayerApp(stage: DatabaseStage): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'DataLayer', { env: { account: '123456789012', region: 'eu-west-1' } });
  const network = new CachePyramidNetwork(stack, 'Network');
  const redis = new RedisCache(stack, 'Cache', {
    vpc: network.vpc,
    vpcSubnets: network.subnetSelection,
    replicationGroupId: 'pyramid',
    clusterMode: ClusterMode.ENABLED,
    numShards: 2,
  });
  const serverless = new ServerlessRedisCache(stack, 'Serverless', { vpc: network.vpc, vpcSubnets: network.subnetSelection, cacheName: 'pyramid-sls' });
  const database = new OriginDatabase(stack, 'Database', { vpc: network.vpc, vpcSubnets: network.subnetSelection, stage });
  const api = new CachePyramidFunction(stack, 'Api', { codeDir: 'api', vpc: network.vpc, vpcSubnets: network.subnetSelection });
  // CachePyramidFunction acknowledges the basic execution policy, not the VPC one it gets in a VPC.
  Validations.of(api).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    reason: 'ENI management actions support no resource scoping.',
  });
  redis.grantConnect(api);
  serverless.grantConnect(api);
  database.grantConnect(api);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe('cdk-nag AwsSolutions on the data layer', () => {
  test.each([DatabaseStage.PROD, DatabaseStage.DEV])('%s synthesises with no unacknowledged finding', (stage) => {
    const app = dataLayerApp(stage);
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    try {
      expect(() => app.synth()).not.toThrow();
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('\n')).not.toMatch(/AwsSolutions-/);
  });
});
