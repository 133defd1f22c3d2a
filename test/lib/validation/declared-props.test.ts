/**
 * Props that TypeScript states but a JavaScript caller (or a cast) gets past are refused at synth,
 * before any resource exists, with the construct, the prop, the rule and the value: a missing or
 * foreign `vpc`, a number where a `Duration` belongs, an empty `resources` list, and a TTL override
 * naming a class that is neither built in nor declared by the app.
 */
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CacheApi, CacheApiProps } from '../../../lib/api/cache-api';
import { ResourceApi, ResourceApiProps } from '../../../lib/api/resource-api';
import { RedisCache } from '../../../lib/cache/redis-cache';
import { ServerlessRedisCache } from '../../../lib/cache/serverless-redis-cache';
import { EdgeDistribution } from '../../../lib/cdn/edge-distribution';
import { DatabaseStage, OriginDatabase, OriginDatabaseProps } from '../../../lib/database/origin-database';
import { InvalidationPipeline, InvalidationPipelineProps } from '../../../lib/invalidation/invalidation-pipeline';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';
import { defineResource, defineTtlClasses, ParamKind, Sharing, ttlClass } from '../../../lambda/runtime';
import { testStack } from '../../support/cdk';

const ENTRY = path.join(__dirname, '..', 'api', 'fixtures', 'user-handler.ts');
const { recipe: recipeTtl } = defineTtlClasses({ recipe: 600 });
const recipe = defineResource({ name: 'recipe', path: '/api/recipes/{slug}', params: { slug: ParamKind.SLUG }, sharing: Sharing.PUBLIC, ttl: recipeTtl });

function base(stack: Stack = testStack()) {
  const network = new CachePyramidNetwork(stack, 'Network');
  const cache = new RedisCache(stack, 'Cache', { vpc: network.vpc, replicationGroupId: 'cp-test' });
  const database = new OriginDatabase(stack, 'Database', { vpc: network.vpc, stage: DatabaseStage.DEV });
  return { stack, network, cache, database };
}

function resourceApi(props: Record<string, unknown>): () => ResourceApi {
  const { stack, network, cache, database } = base();
  return () =>
    new ResourceApi(stack, 'Recipes', {
      entry: ENTRY,
      resources: [recipe],
      vpc: network.vpc,
      cache,
      database,
      jwtIssuer: 'https://id.recipes.test/',
      jwtAudience: ['recipes'],
      ...props,
    } as unknown as ResourceApiProps);
}

function cacheApi(props: Record<string, unknown>): () => CacheApi {
  const { stack, network, cache, database } = base();
  return () => new CacheApi(stack, 'Api', { vpc: network.vpc, cache, database, jwtIssuer: 'https://id.shop.test/', jwtAudience: ['shop'], ...props } as unknown as CacheApiProps);
}

describe('a missing or foreign vpc', () => {
  const missing = /is required: the VPC its functions and servers run in \(CachePyramidNetwork's `vpc`, or your own ec2.IVpc\), got undefined/;
  it.each<[string, (vpc: unknown) => () => unknown, string]>([
    ['ResourceApi', (vpc) => resourceApi({ vpc }), 'ResourceApi'],
    ['CacheApi', (vpc) => cacheApi({ vpc }), 'CacheApi'],
    ['RedisCache', (vpc) => () => new RedisCache(testStack(), 'Cache', { vpc } as never), 'RedisCache'],
    ['ServerlessRedisCache', (vpc) => () => new ServerlessRedisCache(testStack(), 'Cache', { vpc } as never), 'ServerlessRedisCache'],
    ['OriginDatabase', (vpc) => () => new OriginDatabase(testStack(), 'Database', { vpc, stage: DatabaseStage.DEV } as unknown as OriginDatabaseProps), 'OriginDatabase'],
    [
      'InvalidationPipeline',
      (vpc) => {
        const { stack, cache } = base();
        const distribution = new cloudfront.Distribution(stack, 'Distribution', { defaultBehavior: { origin: new origins.HttpOrigin('origin.example.com') } });
        return () => new InvalidationPipeline(stack, 'Invalidation', { cache, distribution, vpc } as unknown as InvalidationPipelineProps);
      },
      'InvalidationPipeline',
    ],
  ])('%s refuses it by name, before any raw TypeError', (_name, make, owner) => {
    expect(make(undefined)).toThrow(new RegExp(`^${owner}: \`vpc\` ${missing.source}`));
    expect(make('vpc-0123')).toThrow(`${owner}: \`vpc\` must be an ec2.IVpc (CachePyramidNetwork's \`vpc\`, ec2.Vpc, or ec2.Vpc.fromLookup), got "vpc-0123"`);
  });
});

describe('a number where a Duration belongs', () => {
  it('ResourceApi refuses `timeout: 30`', () => {
    expect(resourceApi({ timeout: 30 })).toThrow('ResourceApi: `timeout` must be a Duration (e.g. Duration.seconds(10)), got 30');
  });

  it('OriginDatabase refuses `backupRetention: 7`', () => {
    const { network } = base();
    expect(() => new OriginDatabase(network.vpc.stack, 'Other', { vpc: network.vpc, stage: DatabaseStage.DEV, backupRetention: 7 } as unknown as OriginDatabaseProps)).toThrow(
      'OriginDatabase: `backupRetention` must be a Duration (e.g. Duration.days(7)), got 7',
    );
  });

  it('InvalidationPipeline refuses `redisPurger.timeout: 60`', () => {
    const { stack, network, cache } = base();
    const distribution = new cloudfront.Distribution(stack, 'Distribution', { defaultBehavior: { origin: new origins.HttpOrigin('origin.example.com') } });
    expect(() => new InvalidationPipeline(stack, 'Invalidation', { cache, distribution, vpc: network.vpc, redisPurger: { timeout: 60 } } as unknown as InvalidationPipelineProps)).toThrow(
      'InvalidationPipeline: `redisPurger.timeout` must be a Duration (e.g. Duration.seconds(30)), got 60',
    );
  });

  it('EdgeDistribution refuses `apiMaxTtl: 3600`', () => {
    const stack = testStack();
    const secret = new secretsmanager.Secret(stack, 'OriginVerify');
    expect(() => new EdgeDistribution(stack, 'Edge', { apiDomainName: 'a1b2.execute-api.eu-west-1.amazonaws.com', originVerifySecret: secret, apiMaxTtl: 3600 as never })).toThrow(
      'EdgeDistribution: `apiMaxTtl` must be a Duration (e.g. Duration.days(1)), got 3600',
    );
  });
});

describe('required props and lists', () => {
  it('ResourceApi names a missing cache, database, entry or resources list', () => {
    expect(resourceApi({ cache: undefined })).toThrow(/^ResourceApi: `cache` is required: the cache its function reads/);
    expect(resourceApi({ database: undefined })).toThrow(/^ResourceApi: `database` is required: the database its function reads/);
    expect(resourceApi({ entry: undefined })).toThrow('ResourceApi: `entry` must be the path of your handler file, got undefined');
    expect(resourceApi({ resources: recipe })).toThrow(/^ResourceApi: `resources` must be an array of resource declarations \(defineResource\), got an object \(name, path, params, sharing, ttl, /);
  });

  it('EdgeDistribution refuses an empty resources list, and takes none when it is left out', () => {
    const stack = testStack();
    const secret = new secretsmanager.Secret(stack, 'OriginVerify');
    const props = { apiDomainName: 'a1b2.execute-api.eu-west-1.amazonaws.com', originVerifySecret: secret };
    expect(() => new EdgeDistribution(stack, 'Empty', { ...props, resources: [] })).toThrow(
      'EdgeDistribution: `resources` must hold at least one resource declarations (defineResource), the ones ResourceApi serves, got [] (leave it out for none)',
    );
    expect(() => new EdgeDistribution(stack, 'None', props)).not.toThrow();
  });
});

describe("the app's own TTL classes in the TTL overrides", () => {
  it("ResourceApi accepts an override of a class its resources declare, and passes it as CACHE_TTLS", () => {
    const api = resourceApi({ cacheTtlSeconds: { recipe: 60, product: 5 } })();
    const functions = Template.fromStack(Stack.of(api)).findResources('AWS::Lambda::Function', { Properties: { Description: 'cache-pyramid resource API: recipe' } });
    expect(Object.values(functions)[0].Properties.Environment.Variables.CACHE_TTLS).toBe('{"recipe":60,"product":5}');
  });

  it('ResourceApi accepts a class given in ttlClasses, and refuses a class nobody declared, listing the known ones', () => {
    expect(resourceApi({ ttlClasses: [ttlClass('recipe_list', 120)], cacheTtlSeconds: { recipe_list: 30 } })).not.toThrow();
    expect(resourceApi({ cacheTtlSeconds: { recipes: 60 } })).toThrow(
      'ResourceApi: `cacheTtlSeconds` is invalid: cacheTtlSeconds has unknown class "recipes"; known: user_profile, product_list, product, config, analytics, order, not_found, recipe',
    );
    expect(resourceApi({ ttlClasses: [{ name: 'x', defaultSeconds: '1' }] })).toThrow('ResourceApi: `ttlClasses` must hold classes from ttlClass() or defineTtlClasses(), got {"name":"x","defaultSeconds":"1"}');
  });

  it('CacheApi accepts a class given in ttlClasses only', () => {
    expect(cacheApi({ ttlClasses: [recipeTtl], cacheTtlSeconds: { recipe: 60 } })).not.toThrow();
    expect(cacheApi({ cacheTtlSeconds: { recipe: 60 } })).toThrow(/^CacheApi: `cacheTtlSeconds` is invalid: cacheTtlSeconds has unknown class "recipe"; known: .*not_found \(declare your own with ttlClass\(\) or defineTtlClasses\(\)\)$/);
  });
});

