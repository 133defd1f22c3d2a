import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { L1Bus } from '../../../lib/api/l1-bus';
import { ResourceApi, ResourceApiProps } from '../../../lib/api/resource-api';
import { RedisCache } from '../../../lib/cache/redis-cache';
import { VIEWER_AUTHORIZATION_HEADER } from '../../../lib/cdn/edge-distribution';
import { DatabaseStage, OriginDatabase } from '../../../lib/database/origin-database';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';
import { defineResource, DbEnvironment, ParamKind, parseBusMode, resolveDbPoolLimits, Sharing, TtlClass } from '../../../lambda/runtime';
import { testApp, testStack, unacknowledgedFindings } from '../../support/cdk';

const ENTRY = path.join(__dirname, 'fixtures', 'user-handler.ts');
const CACHE_PORT = 6380;

const article = defineResource({ name: 'article', path: '/api/articles/{slug}', params: { slug: ParamKind.SLUG }, sharing: Sharing.PUBLIC, ttl: TtlClass.PRODUCT });
const comments = defineResource({
  name: 'comments',
  path: '/api/articles/{slug}/comments',
  params: { slug: ParamKind.SLUG },
  query: { page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
});
const drafts = defineResource({
  name: 'drafts',
  path: '/api/authors/{author}/drafts',
  params: { author: ParamKind.SLUG },
  sharing: Sharing.PER_SUBJECT,
  subjectParam: 'author',
  ttl: TtlClass.USER_PROFILE,
});

function fixture(props: Partial<ResourceApiProps> = {}, stack: Stack = testStack()): { stack: Stack; api: ResourceApi; template: () => Template } {
  const network = new CachePyramidNetwork(stack, 'Network');
  const cache = new RedisCache(stack, 'Cache', { vpc: network.vpc, replicationGroupId: 'cp-test', port: CACHE_PORT });
  const database = new OriginDatabase(stack, 'Database', { vpc: network.vpc, stage: DatabaseStage.DEV });
  const api = new ResourceApi(stack, 'Articles', {
    entry: ENTRY,
    resources: [article, comments, drafts],
    routes: [
      { routeKey: 'PUT /api/articles/{slug}', scopes: ['articles:write'] },
      { routeKey: 'POST /api/articles/{slug}/comments' },
      { routeKey: 'GET /health', jwt: false },
    ],
    vpc: network.vpc,
    cache,
    database,
    jwtIssuer: 'https://id.shop.test/',
    jwtAudience: ['articles'],
    ...props,
  });
  return { stack, api, template: () => Template.fromStack(stack) };
}

describe('ResourceApi', () => {
  describe('routes', () => {
    it('declares GET and HEAD per resource and the given routes, with the JWT authorizer on per-subject resources and writes only', () => {
      const template = fixture().template();
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]);
      expect(Object.fromEntries(routes)).toEqual({
        'GET /api/articles/{slug}': 'NONE',
        'HEAD /api/articles/{slug}': 'NONE',
        'GET /api/articles/{slug}/comments': 'NONE',
        'HEAD /api/articles/{slug}/comments': 'NONE',
        'GET /api/authors/{author}/drafts': 'JWT',
        'HEAD /api/authors/{author}/drafts': 'JWT',
        'PUT /api/articles/{slug}': 'JWT',
        'POST /api/articles/{slug}/comments': 'JWT',
        'GET /health': 'NONE',
        'HEAD /health': 'NONE',
      });
      expect(routes).toHaveLength(10);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'PUT /api/articles/{slug}', AuthorizationScopes: ['articles:write'] });
    });

    it('checks the token CloudFront copies out of Authorization against the issuer and audiences', () => {
      fixture({ jwtAudience: ['web', 'mobile'] }).template().hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: [`$request.header.${VIEWER_AUTHORIZATION_HEADER}`],
        JwtConfiguration: { Issuer: 'https://id.shop.test/', Audience: ['web', 'mobile'] },
      });
    });

    it('integrates every route with the user function through one invoke permission', () => {
      const template = fixture().template();
      template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
      template.resourceCountIs('AWS::Lambda::Permission', 1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', TimeoutInMillis: 29_000 });
    });
  });

  describe('the user function', () => {
    it('runs the user entry in the VPC with the CACHE_*/DB_* environment, the TTL overrides and the origin-verify secret', () => {
      const { template } = fixture({ cacheTtlSeconds: { [TtlClass.PRODUCT]: 600 }, environment: { ARTICLES_FEATURE: 'on' } });
      template().hasResourceProperties('AWS::Lambda::Function', {
        Description: 'cache-pyramid resource API: article, comments, drafts',
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        TracingConfig: { Mode: 'Active' },
        VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
        Environment: {
          Variables: Match.objectLike({
            CACHE_ENDPOINT: Match.anyValue(),
            CACHE_TLS: 'true',
            CACHE_CLUSTER_MODE: 'false',
            DB_HOST: Match.anyValue(),
            DB_NAME: Match.anyValue(),
            DB_SECRET_ARN: Match.anyValue(),
            CACHE_TTLS: '{"product":600}',
            ORIGIN_VERIFY_SECRET_ARN: { Ref: Match.stringLikeRegexp('^ArticlesOriginVerifySecret') },
            ARTICLES_FEATURE: 'on',
          }),
        },
      });
    });

    it('reaches the cache port through grantConnect from its own security group, whose only inline egress is HTTPS inside the VPC', () => {
      const template = fixture().template();
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: CACHE_PORT,
        ToPort: CACHE_PORT,
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ArticlesSecurityGroup'), 'GroupId'] },
      });
      // Inline, so EC2 drops its default allow-all egress rule.
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'cache-pyramid resource API function',
        SecurityGroupEgress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: { 'Fn::GetAtt': [Match.stringLikeRegexp('Vpc'), 'CidrBlock'] } })],
      });
    });
  });

  describe('connecting to a resuming database', () => {
    /** The user function's environment variables, as the template gives them. */
    function functionEnvironment(props: Partial<ResourceApiProps> = {}): Record<string, unknown> {
      const template = fixture(props).template();
      const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^cache-pyramid resource API') } }));
      return fn.Properties.Environment.Variables;
    }

    it.each<[string, Duration | undefined, string]>([
      ['the default 10 s timeout', undefined, '6500'],
      ['a 29 s timeout', Duration.seconds(29), '25500'],
      ['a 3 s timeout, which leaves no time for a retry', Duration.seconds(3), '0'],
    ])('gives the function a retry budget from %s, its timeout less the statement timeout and a second to answer', (_name, timeout, budget) => {
      const env = functionEnvironment({ timeout });
      expect(env.DB_CONNECT_RETRY_BUDGET_MS).toBe(budget);
      // What the runtime's pool reads from it: a budget of 0 is one attempt, not an error.
      expect(resolveDbPoolLimits(env as DbEnvironment).connectRetryBudgetMs).toBe(Number(budget));
    });

    it('lets the extra environment override the budget', () => {
      expect(functionEnvironment({ environment: { DB_CONNECT_RETRY_BUDGET_MS: '1000' } }).DB_CONNECT_RETRY_BUDGET_MS).toBe('1000');
    });
  });

  describe('l1Bus', () => {
    function busVariable(props: Partial<ResourceApiProps>): unknown {
      const template = fixture(props).template();
      const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^cache-pyramid resource API') } }));
      return fn.Properties.Environment.Variables.CACHE_L1_BUS;
    }

    it('leaves CACHE_L1_BUS unset by default, so the function runs with the bus off', () => {
      expect(busVariable({})).toBeUndefined();
    });

    it.each(Object.values(L1Bus))('sets CACHE_L1_BUS=%s, a mode the runtime accepts', (mode) => {
      expect(busVariable({ l1Bus: mode })).toBe(mode);
      expect(parseBusMode(mode)).toBe(mode);
    });

    it('rejects an unknown mode and the bus set twice, naming the props', () => {
      expect(() => fixture({ l1Bus: 'always' as L1Bus })).toThrow('ResourceApi: `l1Bus` must be one of off, listen, sync, got "always"');
      expect(() => fixture({ l1Bus: L1Bus.SYNC, environment: { CACHE_L1_BUS: 'listen' } })).toThrow(
        'ResourceApi: set the L1 bus with `l1Bus` or `environment.CACHE_L1_BUS`, not both (got "sync" and "listen")',
      );
    });
  });

  it('leaves no cdk-nag or Control Tower finding unacknowledged', () => {
    const app = testApp();
    fixture({}, testStack({}, app));
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  describe('invalid props', () => {
    it.each<[string, Partial<ResourceApiProps>, RegExp]>([
      ['nothing to serve', { resources: [], routes: [] }, /`resources` and `routes` are both empty/],
      ['a route a resource already declares', { routes: [{ routeKey: 'GET /api/articles/{slug}' }] }, /GET \/api\/articles\/\{slug\} is declared twice \(by resource article and by `routes`\)/],
      ['a malformed route key', { routes: [{ routeKey: 'FETCH /x' }] }, /every route key of `routes` must be "<METHOD> \/path", got "FETCH \/x"/],
      ['scopes without the authorizer', { routes: [{ routeKey: 'POST /api/x', jwt: false, scopes: ['x:write'] }] }, /route POST \/api\/x has `scopes` but no JWT authorizer/],
      ['an http issuer', { jwtIssuer: 'http://id.shop.test/' }, /`jwtIssuer` must be an https URL.*http:\/\/id\.shop\.test/],
      ['a placeholder issuer (example.*)', { jwtIssuer: 'https://auth.example.com/' }, /`jwtIssuer` is a placeholder \(example\.\*\) that serves no keys.*auth\.example\.com/],
      ['no audience', { jwtAudience: [] }, /`jwtAudience` must list at least one non-empty audience, got \[\]/],
      ['an unknown TTL class', { cacheTtlSeconds: { bogus: 5 } as never }, /`cacheTtlSeconds` is invalid: .*bogus/],
      ['a timeout past API Gateway', { timeout: Duration.seconds(30) }, /`timeout` must be between 1 and 29 seconds .*got 30 seconds/],
      ['too little memory', { memoryMiB: 64 }, /`memoryMiB` must be an integer between 128 and 10240, got 64/],
    ])('rejects %s', (_name, props, message) => {
      expect(() => fixture(props)).toThrow(message);
    });
  });
});
