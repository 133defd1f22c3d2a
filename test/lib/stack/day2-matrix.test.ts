import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import { fullDiff, ResourceDifference, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { ApiUserPool } from '../../../lib/api/api-user-pool';
import { ResourceApi } from '../../../lib/api/resource-api';
import { ClusterMode, RedisCache } from '../../../lib/cache/redis-cache';
import { ServerlessRedisCache } from '../../../lib/cache/serverless-redis-cache';
import { addCachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { EdgeDistribution } from '../../../lib/cdn/edge-distribution';
import { loadStageConfig, StageCacheKind, StageConfig, STAGES_CONTEXT_KEY } from '../../../lib/stages';
import { defineResource, ParamKind, Sharing, TtlClass } from '../../../lambda/runtime';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

/**
 * The day-2 matrix: every stage of cdk.json, synthesized before and after each change a team makes
 * most, judged with the diff `cdk diff` prints (@aws-cdk/cloudformation-diff over the CloudFormation
 * resource spec). The effects it sees are the table of docs/deploying.md, which this test reads:
 * a change of behaviour fails here until the table says so.
 *
 * Bundling is off (testApp): asset hashes do not matter to what CloudFormation replaces.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnTemplate = Record<string, any>;

/** A team's own API on the pyramid (ResourceApi + EdgeDistribution + a user pool for its scopes). */
interface UserApiShape {
  readonly withDrafts: boolean;
  readonly writeScope: string;
}

interface Variant {
  readonly stage: StageConfig;
  readonly userApi: UserApiShape;
}

interface Change {
  /** The row of the docs table. */
  readonly name: string;
  /** Before and after, or undefined where the change does not apply to the stage (`—` in the table). */
  readonly variants: (base: Variant) => readonly [Variant, Variant] | undefined;
}

const DOCS = path.join(__dirname, '..', '..', '..', 'docs', 'deploying.md');
const TABLE_START = '<!-- day2-matrix:start -->';
const TABLE_END = '<!-- day2-matrix:end -->';
const NOT_APPLICABLE = '—';
/** A case synthesizes up to two variants of a whole stage (seconds each, more on a loaded machine). */
const SYNTH_TIMEOUT_MS = 240_000;

const ENTRY = path.join(__dirname, '..', 'api', 'fixtures', 'user-handler.ts');
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

const withStage = (base: Variant, stage: Partial<StageConfig>): Variant => ({ ...base, stage: { ...base.stage, ...stage } });
const nodeBased = (stage: StageConfig) => (stage.cache.kind === StageCacheKind.NODE_BASED ? stage.cache : undefined);
const serverless = (stage: StageConfig) => (stage.cache.kind === StageCacheKind.SERVERLESS ? stage.cache : undefined);
/** The stage's cache as serverless, for the rows about serverless settings of a node-based stage. */
const SERVERLESS_CACHE = { kind: StageCacheKind.SERVERLESS, maxDataStorageGb: 10, maxEcpuPerSecond: 100_000 } as const;
const NODE_BASED_CACHE = { kind: StageCacheKind.NODE_BASED, nodeType: 'cache.t4g.small', clusterMode: false, shards: 1, replicasPerShard: 0 } as const;

function nodeChange(base: Variant, change: (cache: NonNullable<ReturnType<typeof nodeBased>>) => object | undefined): readonly [Variant, Variant] | undefined {
  const cache = nodeBased(base.stage);
  const changed = cache === undefined ? undefined : change(cache);
  return cache === undefined || changed === undefined ? undefined : [base, withStage(base, { cache: { ...cache, ...changed } })];
}

const CHANGES: readonly Change[] = [
  { name: 'replicas per shard +1', variants: (base) => nodeChange(base, (c) => (c.replicasPerShard < 5 ? { replicasPerShard: c.replicasPerShard + 1 } : undefined)) },
  { name: 'replicas per shard −1', variants: (base) => nodeChange(base, (c) => (c.replicasPerShard > 0 ? { replicasPerShard: c.replicasPerShard - 1 } : undefined)) },
  { name: 'shards +1', variants: (base) => nodeChange(base, (c) => (c.clusterMode ? { shards: c.shards + 1 } : undefined)) },
  { name: 'shards −1', variants: (base) => nodeChange(base, (c) => (c.clusterMode && c.shards > 1 ? { shards: c.shards - 1 } : undefined)) },
  { name: 'node type', variants: (base) => nodeChange(base, (c) => ({ nodeType: c.nodeType === 'cache.r7g.xlarge' ? 'cache.r7g.large' : 'cache.r7g.xlarge' })) },
  { name: 'cluster mode on/off', variants: (base) => nodeChange(base, (c) => (c.clusterMode ? { clusterMode: false, shards: 1 } : { clusterMode: true })) },
  {
    name: 'serverless capacity (maxEcpuPerSecond, maxDataStorageGb)',
    variants: (base) => {
      const before = serverless(base.stage) === undefined ? withStage(base, { cache: SERVERLESS_CACHE }) : base;
      const cache = serverless(before.stage)!;
      return [before, withStage(before, { cache: { ...cache, maxEcpuPerSecond: cache.maxEcpuPerSecond * 2, maxDataStorageGb: cache.maxDataStorageGb + 10 } })];
    },
  },
  {
    name: 'node-based → serverless',
    variants: (base) => (nodeBased(base.stage) === undefined ? undefined : [base, withStage(base, { cache: SERVERLESS_CACHE })]),
  },
  {
    name: 'serverless → node-based',
    variants: (base) => (nodeBased(base.stage) === undefined ? [base, withStage(base, { cache: NODE_BASED_CACHE })] : [withStage(base, { cache: SERVERLESS_CACHE }), base]),
  },
  { name: 'a TTL (ttlSeconds)', variants: (base) => [base, withStage(base, { ttlSeconds: { ...base.stage.ttlSeconds, product: (base.stage.ttlSeconds.product ?? 3600) + 60 } })] },
  {
    name: 'database capacity (maxCapacityAcu)',
    variants: (base) => [base, withStage(base, { database: { ...base.stage.database, maxCapacityAcu: base.stage.database.maxCapacityAcu * 2 } })],
  },
  { name: 'a resource added to your API', variants: (base) => [base, { ...base, userApi: { ...base.userApi, withDrafts: true } }] },
  { name: 'a route\'s scope', variants: (base) => [base, { ...base, userApi: { ...base.userApi, writeScope: 'articles:publish' } }] },
];

/** Resources that hold data a replacement or deletion would lose (beyond the spec's own `isStateful`). */
const DATA_HOLDING = new Set([
  'AWS::RDS::DBCluster',
  'AWS::RDS::DBInstance',
  'AWS::SecretsManager::Secret',
  'AWS::Cognito::UserPool',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::Logs::LogGroup',
  'AWS::SQS::Queue',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::ServerlessCache',
]);
/** The cache, whose replacement the table may document: it is an optimisation, refilled from the database. */
const CACHE_TYPES = new Set(['AWS::ElastiCache::ReplicationGroup', 'AWS::ElastiCache::ServerlessCache']);

const spec = loadAwsServiceSpecSync();
function resourceSpec(type: string): { primaryIdentifier?: string[]; isStateful?: boolean } | undefined {
  return spec.lookup('resource', 'cloudFormationType', 'equals', type).at(0) as never;
}

function isDataHolding(type: string): boolean {
  return DATA_HOLDING.has(type) || resourceSpec(type)?.isStateful === true;
}

/** The physical name a template sets for a resource (its primary identifier, when the template gives it). */
function customName(resource: CfnTemplate | undefined): string | undefined {
  if (resource === undefined) return undefined;
  const ids = resourceSpec(resource.Type)?.primaryIdentifier ?? [];
  const given = ids.filter((id) => resource.Properties?.[id] !== undefined);
  return given.length === 0 ? undefined : JSON.stringify(given.map((id) => resource.Properties[id]));
}

const REPLACING = new Set<ResourceImpact>([ResourceImpact.WILL_REPLACE, ResourceImpact.MAY_REPLACE]);
const REMOVING = new Set<ResourceImpact>([ResourceImpact.WILL_DESTROY, ResourceImpact.WILL_ORPHAN]);

/**
 * A MAY_REPLACE the spec cannot settle: NumNodeGroups (or NodeGroupConfiguration) of a group with
 * the UseOnlineResharding update policy changes in place (CloudFormation User Guide, UpdatePolicy).
 */
function reshardedOnline(change: ResourceDifference, after: CfnTemplate | undefined): boolean {
  if (change.changeImpact !== ResourceImpact.MAY_REPLACE || after?.UpdatePolicy?.UseOnlineResharding !== true) return false;
  const replacing = Object.entries(change.propertyUpdates).filter(([, diff]) => diff.changeImpact !== undefined && REPLACING.has(diff.changeImpact));
  return replacing.length > 0 && replacing.every(([name]) => name === 'NumNodeGroups' || name === 'NodeGroupConfiguration');
}

interface Judgement {
  /** Rules broken whatever the docs say. */
  readonly violations: string[];
  /** What happens to the cache, as the docs table says it (every other data-holding resource must stay). */
  readonly effect: string;
}

function judge(before: Record<string, CfnTemplate>, after: Record<string, CfnTemplate>): Judgement {
  const violations: string[] = [];
  const effects = new Set<string>();
  for (const stackName of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[stackName] ?? {};
    const next = after[stackName] ?? {};
    fullDiff(old, next).resources.forEachDifference((logicalId, change) => {
      const where = `${stackName}/${logicalId}`;
      if (change.resourceTypeChanged) {
        violations.push(`${where} changes type ${change.oldResourceType} → ${change.newResourceType} (CloudFormation refuses it)`);
        return;
      }
      const type = (change.newResourceType ?? change.oldResourceType)!;
      const oldResource = old.Resources?.[logicalId];
      const newResource = next.Resources?.[logicalId];
      const impact = change.changeImpact;
      const replaced = REPLACING.has(impact) && !reshardedOnline(change, newResource);
      const name = customName(oldResource);
      if (replaced && name !== undefined && name === customName(newResource)) {
        violations.push(`${where} (${type}) is replaced under the same custom name ${name}: the update would fail`);
      }
      if (CACHE_TYPES.has(type)) {
        const short = type.split('::')[2];
        if (replaced) effects.add(`replaces the ${short} (empty)`);
        else if (impact === ResourceImpact.WILL_CREATE) effects.add(`creates a ${short}`);
        else if (REMOVING.has(impact)) effects.add(`${impact === ResourceImpact.WILL_ORPHAN ? 'orphans' : 'deletes'} the ${short}`);
        return;
      }
      const lost = replaced || (REMOVING.has(impact) && !isPartOfRemovedCache(logicalId, old, next));
      if (lost && isDataHolding(type)) violations.push(`${where} (${type}) holds data and is ${replaced ? 'replaced' : 'deleted'} (${impact})`);
    });
  }
  // Creation first: CloudFormation creates the new cache, updates the functions, then deletes the old one.
  const order = (effect: string) => ['creates', 'replaces', 'deletes', 'orphans'].indexOf(effect.split(' ')[0]);
  return { violations, effect: effects.size === 0 ? 'in place' : [...effects].sort((a, b) => order(a) - order(b)).join(', then ') };
}

/** A resource that goes away with the cache it belongs to (its key, logs, secrets), as in a switch of kind. */
function isPartOfRemovedCache(logicalId: string, old: CfnTemplate, next: CfnTemplate): boolean {
  const cachePath = (template: CfnTemplate) =>
    Object.values((template.Resources ?? {}) as Record<string, CfnTemplate>)
      .filter((r) => CACHE_TYPES.has(r.Type))
      .map((r) => (r.Metadata['aws:cdk:path'] as string).replace(/\/Resource$/, '/'));
  const removedCaches = cachePath(old).filter((p) => !cachePath(next).includes(p));
  const resourcePath = old.Resources?.[logicalId]?.Metadata?.['aws:cdk:path'] as string | undefined;
  return resourcePath !== undefined && removedCaches.some((p) => resourcePath.startsWith(p));
}

function addUserApi(pyramid: ReturnType<typeof addCachePyramidStacks>['pyramid'], shape: UserApiShape): void {
  const removalPolicy = pyramid.stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  const resources = [article, comments, ...(shape.withDrafts ? [drafts] : [])];
  const auth = new ApiUserPool(pyramid, 'ArticlesAuth', { scopes: [shape.writeScope], removalPolicy });
  const api = new ResourceApi(pyramid, 'ArticlesApi', {
    entry: ENTRY,
    resources,
    routes: [{ routeKey: 'PUT /api/articles/{slug}', scopes: [shape.writeScope] }],
    vpc: pyramid.network.vpc,
    vpcSubnets: pyramid.network.subnetSelection,
    cache: pyramid.cache,
    database: pyramid.database,
    jwtIssuer: auth.issuer,
    jwtAudience: auth.audience,
    removalPolicy,
  });
  new EdgeDistribution(pyramid, 'ArticlesEdge', {
    apiDomainName: api.apiDomainName,
    originVerifySecret: api.originVerifySecret,
    resources,
    removalPolicy,
    autoDeleteObjects: !pyramid.stage.retainData,
  });
}

const templates = new Map<string, Record<string, CfnTemplate>>();
/** The templates of every stack of a variant, by stack name; each variant is synthesized once. */
function synthesize(variant: Variant): Record<string, CfnTemplate> {
  const key = JSON.stringify(variant);
  let found = templates.get(key);
  if (found === undefined) {
    // Path metadata tells which resources belong to a cache that a switch of kind removes.
    const stacks = addCachePyramidStacks(testApp({ 'aws:cdk:enable-path-metadata': true }), variant.stage);
    addUserApi(stacks.pyramid, variant.userApi);
    const all: Stack[] = [stacks.pyramid, stacks.edgeMonitoring, ...(stacks.edgeSecurity === undefined ? [] : [stacks.edgeSecurity])];
    found = Object.fromEntries(all.map((stack) => [stack.stackName, Template.fromStack(stack).toJSON()]));
    templates.set(key, found);
  }
  return found;
}

/** The table of docs/deploying.md: change → stage → effect. */
function documentedEffects(stageNames: string[]): Map<string, Record<string, string>> {
  const text = fs.readFileSync(DOCS, 'utf8');
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/deploying.md has no ${TABLE_START} … ${TABLE_END} table`);
  const rows = text
    .slice(start + TABLE_START.length, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  const [header, , ...body] = rows;
  const columns = stageNames.map((name) => header.indexOf(`\`${name}\``));
  if (columns.some((column) => column < 0)) throw new Error(`the table's header must name every stage (${stageNames.join(', ')}), got ${header.join(' | ')}`);
  return new Map(body.map((cells) => [cells[0], Object.fromEntries(stageNames.map((name, i) => [name, cells[columns[i]]]))]));
}

describe('the judge of the matrix', () => {
  /** One cache in a small stack, as a template. */
  function cacheTemplate(build: (stack: Stack, vpc: ec2.IVpc) => void): Record<string, CfnTemplate> {
    const stack = new Stack(testApp({ 'aws:cdk:enable-path-metadata': true }), 'Judge', { env: { account: '111111111111', region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    build(stack, vpc);
    return { Judge: Template.fromStack(stack).toJSON() };
  }
  const sharded = (replicasPerShard: number, replicationGroupId?: string) => (stack: Stack, vpc: ec2.IVpc) =>
    new RedisCache(stack, 'Cache', { vpc, replicationGroupId, clusterMode: ClusterMode.ENABLED, numShards: 3, replicasPerShard });

  it('refuses a replica added to a replication group with a custom id (the rollback this matrix exists for), and allows it without', () => {
    expect(judge(cacheTemplate(sharded(1, 'cache-pyramid-prod')), cacheTemplate(sharded(2, 'cache-pyramid-prod'))).violations).toEqual([
      expect.stringMatching(/^Judge\/Cache[0-9A-F]{8} \(AWS::ElastiCache::ReplicationGroup\) is replaced under the same custom name \["cache-pyramid-prod"\]/),
    ]);
    expect(judge(cacheTemplate(sharded(1)), cacheTemplate(sharded(2)))).toEqual({ violations: [], effect: 'replaces the ReplicationGroup (empty)' });
  }, SYNTH_TIMEOUT_MS);

  it('refuses a logical id that changes type (both kinds of cache under one construct id, as before)', () => {
    const serverlessUnderCacheId = (stack: Stack, vpc: ec2.IVpc) => new ServerlessRedisCache(stack, 'Cache', { vpc, cacheName: 'judge' });
    const violations = judge(cacheTemplate(sharded(1)), cacheTemplate(serverlessUnderCacheId)).violations;
    expect(violations).toEqual(expect.arrayContaining([expect.stringMatching(/^Judge\/Cache[0-9A-F]{8} changes type AWS::ElastiCache::ReplicationGroup → AWS::ElastiCache::ServerlessCache/)]));
  });

  it('refuses a data-holding resource replaced, here a log group renamed', () => {
    const logs = (name: string) => (stack: Stack) => new LogGroup(stack, 'Logs', { logGroupName: name });
    expect(judge(cacheTemplate(logs('/aws/vendedlogs/a')), cacheTemplate(logs('/aws/vendedlogs/b'))).violations).toEqual([
      expect.stringMatching(/^Judge\/Logs[0-9A-F]{8} \(AWS::Logs::LogGroup\) holds data and is replaced \(WILL_REPLACE\)$/),
    ]);
  });
});

describe('day-2 matrix: each common change to each stage, judged as cdk diff judges it', () => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });

  const stageNames = Object.keys(testApp().node.tryGetContext(STAGES_CONTEXT_KEY) as Record<string, unknown>);
  const documented = documentedEffects(stageNames);

  it('documents every change of the matrix, and only those', () => {
    expect([...documented.keys()]).toEqual(CHANGES.map((change) => change.name));
  });

  describe.each(stageNames)('stage %s', (stageName) => {
    const base: Variant = { stage: loadStageConfig(testApp({ stage: stageName, ...ALARMS_ACKNOWLEDGED })), userApi: { withDrafts: false, writeScope: 'articles:write' } };

    it.each(CHANGES.map((change) => [change.name, change] as const))('%s: no type change, no custom-named or data-holding replacement, the effect the docs state', (name, change) => {
      const variants = change.variants(base);
      if (variants === undefined) {
        expect(documented.get(name)?.[stageName]).toBe(NOT_APPLICABLE);
        return;
      }
      const { violations, effect } = judge(synthesize(variants[0]), synthesize(variants[1]));
      expect(violations).toEqual([]);
      expect(`${name}: ${documented.get(name)?.[stageName]}`).toBe(`${name}: ${effect}`);
    }, SYNTH_TIMEOUT_MS);
  });
});
