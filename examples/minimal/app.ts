// The CDK app: network, Redis, Aurora (migrated from ./migrations), the API, CloudFront.
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { ApiUserPool, CachePyramidNetwork, DatabaseStage, EdgeDistribution, OriginDatabase, RedisCache, ResourceApi } from 'cache-pyramid';
import { recipe } from './resources';

const app = new App();
const stack = new Stack(app, 'Recipes');
const { vpc } = new CachePyramidNetwork(stack, 'Network');
const cache = new RedisCache(stack, 'Cache', { vpc });
const database = new OriginDatabase(stack, 'Db', { vpc, stage: DatabaseStage.DEV, migrationsDirectory: path.join(__dirname, 'migrations') });
const auth = new ApiUserPool(stack, 'Auth', { scopes: ['recipes:write'] });
const api = new ResourceApi(stack, 'Api', {
  entry: path.join(__dirname, 'handler.ts'),
  resources: [recipe],
  vpc,
  cache,
  database,
  jwtIssuer: auth.issuer,
  jwtAudience: auth.audience,
});
new EdgeDistribution(stack, 'Edge', { apiDomainName: api.apiDomainName, originVerifySecret: api.originVerifySecret, resources: [recipe] });
