/**
 * A brand-new resource, declared once, and every layer derived from that declaration alone: the
 * Redis key and the response headers (createResourceApi over real Redis), the API route and the
 * CloudFront behaviour and cache policy (the synthesised template), the purge paths and the tag
 * purge. Nothing outside this file names the resource.
 */
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import {
  bindResource,
  CacheClient,
  CacheKeys,
  createRedis,
  createResourceApi,
  defineResource,
  DEFAULT_TTL_SECONDS,
  ParamKind,
  ReadThroughCache,
  Sharing,
  TagIndex,
} from 'cache-pyramid/runtime';
import { ResourceApi } from '../../lib/api/resource-api';
import { RedisCache } from '../../lib/cache/redis-cache';
import { EdgeDistribution, VIEWER_AUTHORIZATION_HEADER } from '../../lib/cdn/edge-distribution';
import { DatabaseStage, OriginDatabase } from '../../lib/database/origin-database';
import { CachePyramidNetwork } from '../../lib/network/cache-pyramid-network';
import { apiEvent } from '../lambda/api/support';
import { testStack } from '../support/cdk';
import { RedisServer } from '../support/servers';

interface Story {
  readonly id: number;
  readonly author: string;
  readonly title: string;
}

const story = defineResource<Story>({
  name: 'story',
  path: '/api/stories/{id}',
  query: { lang: { kind: ParamKind.SLUG } },
  sharing: Sharing.PUBLIC,
  ttl: 900,
  tags: (value) => [`author:${value.author}`],
});

/** The origin: one table, every load counted. */
const stories = new Map<number, Story>([[7, { id: 7, author: 'ada', title: 'Pyramids' }]]);

describe('a resource declared once', () => {
  let redis: RedisServer;
  let client: CacheClient;

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new CacheClient(createRedis({ url: redis.url, commandTimeoutMs: 2000, connectTimeoutMs: 2000 }), { commandTimeoutMs: 2000, connectTimeoutMs: 2000 });
    if (!(await client.ready(10_000))) throw new Error('cache client did not connect');
  });

  afterAll(async () => {
    await client.quit();
    await redis.stop();
  });

  it('is cached under its declared key with headers from its sharing and TTL, and purged with its paths by tag', async () => {
    const keys = new CacheKeys({ clusterMode: false });
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS });
    const tagIndex = new TagIndex(client, keys);
    let loads = 0;
    const api = createResourceApi({
      cache,
      keys,
      ttls: DEFAULT_TTL_SECONDS,
      tagIndex,
      bindings: [bindResource({ resource: story, load: async (params) => (loads++, stories.get(params.id as number) ?? null) })],
    });

    const plain = await api.handle(apiEvent('/api/stories/7'));
    const french = await api.handle(apiEvent('/api/stories/7', { query: 'lang=fr' }));
    expect([plain?.statusCode, french?.statusCode]).toEqual([200, 200]);
    expect(plain?.headers).toMatchObject({ 'cache-control': expect.stringMatching(/^public, max-age=(9\d\d|8\d\d)\b/), etag: expect.stringMatching(/^"/), 'x-cache': 'origin' });
    expect(loads).toBe(2);

    const plainKey = story.key(keys, { id: 7, lang: undefined });
    const frenchKey = story.key(keys, { id: 7, lang: 'fr' });
    expect(plainKey).not.toBe(frenchKey);
    expect([plainKey, frenchKey].map((key) => redis.cli('EXISTS', key))).toEqual(['1', '1']);
    expect(Number(redis.cli('TTL', plainKey))).toBeGreaterThan(900);

    expect(story.cdnPaths({ id: 7, lang: 'fr' })).toEqual(['/api/stories/7?lang=fr']);
    const purged = await tagIndex.invalidate(['author:ada']);
    expect(purged.cdnPaths).toEqual(['/api/stories/7', '/api/stories/7?lang=fr']);
    expect([plainKey, frenchKey].map((key) => redis.cli('EXISTS', key))).toEqual(['0', '0']);
    cache.clearLocal();
    expect((await api.handle(apiEvent('/api/stories/7')))?.headers?.['x-cache']).toBe('origin');
    expect(loads).toBe(3);
    await cache.drain();
  });

  it('gets its API route, its CloudFront behaviour and its cache policy from the declaration', () => {
    const stack = testStack();
    const network = new CachePyramidNetwork(stack, 'Network');
    const cache = new RedisCache(stack, 'Cache', { vpc: network.vpc, replicationGroupId: 'stories' });
    const database = new OriginDatabase(stack, 'Database', { vpc: network.vpc, stage: DatabaseStage.DEV });
    const api = new ResourceApi(stack, 'Api', {
      entry: path.join(__dirname, 'api', 'fixtures', 'user-handler.ts'),
      resources: [story],
      vpc: network.vpc,
      cache,
      database,
      jwtIssuer: 'https://id.shop.test/',
      jwtAudience: ['stories'],
    });
    new EdgeDistribution(stack, 'Edge', { apiDomainName: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com', originVerifySecret: api.originVerifySecret, resources: [story] });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /api/stories/{id}', AuthorizationType: 'NONE' });
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    const behaviours = distribution.Properties.DistributionConfig.CacheBehaviors as Array<Record<string, { Ref: string } | string | string[]>>;
    const storyBehaviour = behaviours.find((b) => b.PathPattern === '/api/stories/*')!;
    expect(behaviours.map((b) => b.PathPattern)).toEqual(['/api/stories/*', '/api/*', '/health']);
    expect(storyBehaviour.CachedMethods).toEqual(['GET', 'HEAD']);
    const policy = template.toJSON().Resources[(storyBehaviour.CachePolicyId as { Ref: string }).Ref].Properties.CachePolicyConfig;
    expect(policy.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({
      QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['lang'] },
      HeadersConfig: { HeaderBehavior: 'none' },
      CookiesConfig: { CookieBehavior: 'none' },
    });
    const originRequest = template.toJSON().Resources[(storyBehaviour.OriginRequestPolicyId as { Ref: string }).Ref].Properties.OriginRequestPolicyConfig;
    expect(originRequest.HeadersConfig.Headers).toContain(VIEWER_AUTHORIZATION_HEADER);
  });
});
