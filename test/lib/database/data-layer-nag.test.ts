import { Validations } from 'aws-cdk-lib';
import { CachePyramidFunction } from '../../../lib/api/api-function';
import { ClusterMode, RedisCache } from '../../../lib/cache/redis-cache';
import { ServerlessRedisCache } from '../../../lib/cache/serverless-redis-cache';
import { DatabaseStage, OriginDatabase } from '../../../lib/database/origin-database';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';
import { testApp, testStack, unacknowledgedFindings, ValidationFinding } from '../../support/cdk';

/**
 * The data layer as a user composes it, checked by the app's validation plugins (cdk-nag
 * AwsSolutions and the cfn-guard Control Tower rules): every finding on these constructs, or on the
 * stack-wide helpers they bring in, must be fixed or acknowledged with a reason.
 */
function dataLayerFindings(stage: DatabaseStage): ValidationFinding[] {
  const app = testApp();
  const stack = testStack({}, app);
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
  // A function in the VPC gets the VPC execution policy; acknowledged here as the stack does for its own functions.
  Validations.of(api).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    reason: 'ENI management actions support no resource scoping.',
  });
  redis.grantConnect(api);
  serverless.grantConnect(api);
  database.grantConnect(api);
  // The API function and its log key belong to CachePyramidFunction, checked with the stack.
  return unacknowledgedFindings(app)
    .map((f) => ({ ...f, constructPaths: f.constructPaths.filter((p) => !/^Test\/(Api|CachePyramidFunctionLogKey)\//.test(p)) }))
    .filter((f) => f.constructPaths.length > 0);
}

describe('validation plugins on the data layer', () => {
  test.each([DatabaseStage.PROD, DatabaseStage.DEV])('%s: cdk-nag and cfn-guard find nothing unacknowledged', (stage) => {
    expect(dataLayerFindings(stage)).toEqual([]);
  });
});
