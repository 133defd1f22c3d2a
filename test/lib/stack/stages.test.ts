import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { guardRulesEnabled, loadStageConfig, parseStageConfig, STAGES_CONTEXT_KEY, StageCacheKind, StageConfigError } from '../../../lib/stages';
import { TtlClass, ttlClass } from '../../../lambda/runtime/ttl';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

/** The stage table of cdk.json, as the app sees it. */
function stagesOfCdkJson(): Record<string, Record<string, unknown>> {
  return testApp().node.tryGetContext(STAGES_CONTEXT_KEY) as Record<string, Record<string, unknown>>;
}

/** A deep copy of cdk.json's dev stage with `path` set to `value` (undefined deletes it). */
function devWith(path: string, value: unknown): Record<string, unknown> {
  const stage = structuredClone(stagesOfCdkJson().dev);
  const keys = path.split('.');
  let node = stage as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[keys[keys.length - 1]];
  else node[keys[keys.length - 1]] = value;
  return stage;
}

describe('stages', () => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeEach(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount === undefined) delete process.env.CDK_DEFAULT_ACCOUNT;
    else process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });

  describe('cdk.json', () => {
    it('builds the dev stage without any context: a small node-based cache, a pausing database, no account', () => {
      const dev = loadStageConfig(testApp());
      expect(dev).toMatchObject({
        name: 'dev',
        account: undefined,
        region: 'eu-west-1',
        cache: { kind: StageCacheKind.NODE_BASED, nodeType: 'cache.t4g.micro', clusterMode: false, shards: 1, replicasPerShard: 0 },
        database: { minCapacityAcu: 0, readers: 0 },
        waf: false,
        retainData: false,
        priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      });
    });

    it('builds prod with a sharded, replicated cache, a reader, WAF, retained data and the explicit TTL table', () => {
      const prod = loadStageConfig(testApp({ stage: 'prod', ...ALARMS_ACKNOWLEDGED }));
      expect(prod).toMatchObject({
        name: 'prod',
        cache: { kind: StageCacheKind.NODE_BASED, clusterMode: true, shards: 3, replicasPerShard: 1 },
        database: { readers: 1 },
        waf: true,
        retainData: true,
        priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
        ttlSeconds: { [TtlClass.USER_PROFILE]: 3600, [TtlClass.PRODUCT_LIST]: 300, [TtlClass.PRODUCT]: 3600, [TtlClass.CONFIG]: 86400, [TtlClass.ANALYTICS]: 60 },
      });
    });

    it('takes region and account from the context, and the account from CDK_DEFAULT_ACCOUNT', () => {
      expect(loadStageConfig(testApp({ region: 'us-west-2', account: '222222222222' }))).toMatchObject({ region: 'us-west-2', account: '222222222222' });
      process.env.CDK_DEFAULT_ACCOUNT = '333333333333';
      expect(loadStageConfig(testApp()).account).toBe('333333333333');
    });

    it('keeps the table\'s region as the stage\'s home when -c region=… moves it, and takes the override as home for a table without one', () => {
      expect(loadStageConfig(testApp({ region: 'us-west-2' }))).toMatchObject({ region: 'us-west-2', homeRegion: 'eu-west-1' });
      expect(parseStageConfig('dev', devWith('region', undefined), { region: 'us-west-2' })).toMatchObject({ region: 'us-west-2', homeRegion: 'us-west-2' });
      expect(() => parseStageConfig('dev', devWith('region', undefined))).toThrow(/\.region must be a non-empty string, got nothing/);
    });

    it('names the stages it knows when asked for another', () => {
      expect(() => loadStageConfig(testApp({ stage: 'qa' }))).toThrow(/unknown stage "qa" \(-c stage=…\); 'cache-pyramid:stages' defines: dev, prod/);
    });

    it('rejects a context without a stage table', () => {
      expect(() => loadStageConfig(testApp({ [STAGES_CONTEXT_KEY]: 'dev' }))).toThrow(StageConfigError);
      expect(() => loadStageConfig(testApp({ [STAGES_CONTEXT_KEY]: 'dev' }))).toThrow(/'cache-pyramid:stages' must be an object of stages, got "dev"/);
    });
  });

  it('reads a serverless cache, a domain with a hosted zone and an existing web ACL', () => {
    const stage = {
      ...devWith('cache', { kind: 'serverless', maxDataStorageGb: 10, maxEcpuPerSecond: 5000 }),
      domain: { names: ['shop.example.com', 'www.shop.example.com'], hostedZoneId: 'Z123456ABCDEFG', hostedZoneName: 'shop.example.com' },
      webAclArn: 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/shop/8c5c4a1e-0d5b-4f5e-9a6b-1c2d3e4f5a6b',
      alarmSubscribers: { emails: ['oncall@example.com'], webhookUrls: ['https://hooks.example.net/cache-pyramid'] },
      staticAssetsPath: 'public',
    };
    expect(parseStageConfig('shop', stage)).toMatchObject({
      cache: { kind: StageCacheKind.SERVERLESS, maxDataStorageGb: 10, maxEcpuPerSecond: 5000 },
      domain: { names: ['shop.example.com', 'www.shop.example.com'], hostedZoneId: 'Z123456ABCDEFG', hostedZoneName: 'shop.example.com' },
      webAclArn: expect.stringContaining(':global/webacl/shop/'),
      alarmSubscribers: { emails: ['oncall@example.com'], webhookUrls: ['https://hooks.example.net/cache-pyramid'] },
      staticAssetsPath: 'public',
    });
  });

  describe('invalid values name their path, the rule and the value', () => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['a region that is not a code', 'region', 'Ireland', /cache-pyramid:stages\.dev\.region must be an AWS region code like eu-west-1, got "Ireland"/],
      ['a short account', 'account', '1234', /\.account must be a 12-digit AWS account id, got "1234"/],
      ['an unknown cache kind', 'cache.kind', 'memcached', /\.cache\.kind must be node-based or serverless, got "memcached"/],
      ['a node type without the cache. prefix', 'cache.nodeType', 't4g.micro', /\.cache\.nodeType must be an ElastiCache node type like cache\.t4g\.micro, got "t4g\.micro"/],
      ['shards without cluster mode', 'cache.shards', 3, /\.cache\.shards must be 1 unless clusterMode is true, got 3/],
      ['six replicas', 'cache.replicasPerShard', 6, /\.cache\.replicasPerShard must be a number from 0 to 5 \(whole\), got 6/],
      ['a capacity off the half-ACU steps', 'database.minCapacityAcu', 0.3, /\.database\.minCapacityAcu must be a number from 0 to 256 in steps of 0\.5, got 0\.3/],
      ['a flusher reservation of 1', 'api.flusherReservedConcurrency', 1, /\.api\.flusherReservedConcurrency must be a number from 2 to 1000 \(whole\), got 1/],
      ['a flusher maximum concurrency of 1', 'api.flusherMaxConcurrency', 1, /\.api\.flusherMaxConcurrency must be a number from 2 to 1000 \(whole\), got 1/],
      ['a missing throttle', 'api.throttlingBurstLimit', undefined, /\.api\.throttlingBurstLimit must be a number from 1 to 5000 \(whole\), got nothing/],
      ['an http issuer', 'auth', { issuer: 'http://idp.shop.test/', audience: ['a'] }, /\.auth\.issuer must be the https URL of the identity provider.*got "http:\/\/idp\.shop\.test\/"/],
      ['a placeholder issuer', 'auth', { issuer: 'https://auth.example.com/', audience: ['a'] }, /\.auth\.issuer is a placeholder \(example\.\*\): API Gateway would answer 401 .*got "https:\/\/auth\.example\.com\/"/],
      ['a placeholder anywhere in the issuer', 'auth', { issuer: 'https://idp.shop.test/realms/example.org', audience: ['a'] }, /\.auth\.issuer is a placeholder/],
      ['an empty audience', 'auth', { issuer: 'https://idp.shop.test/', audience: [] }, /\.auth\.audience must list at least one audience, got \[\]/],
      ['a blank audience entry', 'auth', { issuer: 'https://idp.shop.test/', audience: ['ok', ''] }, /\.auth\.audience\[1\] must be a non-empty string, got ""/],
      ['an unknown TTL class', 'ttlSeconds', { sessions: 60 }, /\.ttlSeconds: has unknown class "sessions"/],
      ['a TTL of 0', 'ttlSeconds', { product: 0 }, /\.ttlSeconds: product must be an integer between 1 and 2592000 seconds, got 0/],
      ['an alarm email without a domain', 'alarmSubscribers', { emails: ['oncall'] }, /\.alarmSubscribers\.emails\[0\] must be an email address, got "oncall"/],
      ['an http alarm webhook', 'alarmSubscribers', { webhookUrls: ['http://hooks.shop.test/x'] }, /\.alarmSubscribers\.webhookUrls\[0\] must be an https URL/],
      ['waf that is not a boolean', 'waf', 'yes', /\.waf must be true or false, got "yes"/],
      ['an unknown price class', 'priceClass', 'PriceClass_50', /\.priceClass must be one of PriceClass_100, PriceClass_200, PriceClass_All, got "PriceClass_50"/],
      ['a regional web ACL', 'webAclArn', 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/x/1', /\.webAclArn must be the ARN of a WAFv2 web ACL with CLOUDFRONT scope/],
      ['a domain without names', 'domain', { names: [], certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc' }, /\.domain\.names must list at least one host name, got \[\]/],
      ['an upper-case host name', 'domain', { names: ['Shop.Example.com'], certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc' }, /\.domain\.names\[0\] must be a lowercase host name, got "Shop\.Example\.com"/],
      ['a certificate outside us-east-1', 'domain', { names: ['shop.example.com'], certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc' }, /\.domain\.certificateArn must be an ACM certificate ARN in us-east-1/],
      ['a domain with neither certificate nor zone', 'domain', { names: ['shop.example.com'] }, /\.domain needs exactly one of certificateArn .* or hostedZoneId/],
      ['a zone id without its name', 'domain', { names: ['shop.example.com'], hostedZoneId: 'Z1' }, /\.domain needs hostedZoneName together with hostedZoneId/],
      ['names outside the zone', 'domain', { names: ['shop.other.com'], hostedZoneId: 'Z1', hostedZoneName: 'example.com' }, /\.domain\.names must all be in the hosted zone example\.com, got \["shop\.other\.com"\]/],
      ['a stage that is not an object', '', 'dev', /cache-pyramid:stages\.dev must be an object, got "dev"/],
      ['a purger concurrency of 1', 'invalidation', { redisPurgerMaxConcurrency: 1 }, /\.invalidation\.redisPurgerMaxConcurrency must be a number from 2 to 1000 \(whole\), got 1/],
      ['an acknowledgement that is not a boolean', 'alarmsWithoutSubscribers', 'yes', /\.alarmsWithoutSubscribers must be true or false, got "yes"/],
    ];
    it.each(cases)('rejects %s', (_name, path, value, message) => {
      const stage = path === '' ? value : devWith(path, value);
      expect(() => parseStageConfig('dev', stage)).toThrow(message);
    });

    it("accepts an override of the app's own TTL class given to it, and names one it was not given", () => {
      const recipe = ttlClass('recipe', 600);
      expect(parseStageConfig('dev', devWith('ttlSeconds', { recipe: 60 }), {}, { ttlClasses: [recipe] }).ttlSeconds).toEqual({ recipe: 60 });
      expect(() => parseStageConfig('dev', devWith('ttlSeconds', { recipes: 60 }), {}, { ttlClasses: [recipe] })).toThrow(
        /\.ttlSeconds: has unknown class "recipes"; known: user_profile, product_list, product, config, analytics, order, not_found, recipe$/,
      );
      expect(() => parseStageConfig('dev', devWith('ttlSeconds', { recipe: 60 }))).toThrow(/\.ttlSeconds: has unknown class "recipe".*declare your own with ttlClass\(\)/);
    });

    it('rejects a flusher reservation below its maximum concurrency', () => {
      const stage = devWith('api', { flusherMaxConcurrency: 6, flusherReservedConcurrency: 4, throttlingRateLimitPerSecond: 50, throttlingBurstLimit: 100 });
      expect(() => parseStageConfig('dev', stage)).toThrow(/\.api\.flusherReservedConcurrency must not be below flusherMaxConcurrency \(6\).*got 4/);
    });

    it('rejects a maximum capacity below the minimum', () => {
      const stage = devWith('database', { minCapacityAcu: 4, maxCapacityAcu: 2, readers: 0 });
      expect(() => parseStageConfig('dev', stage)).toThrow(/\.database\.maxCapacityAcu must not be below minCapacityAcu \(4\), got 2/);
    });

    it('rejects creating and attaching a web ACL at once', () => {
      const stage = { ...devWith('waf', true), webAclArn: 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/x/1' };
      expect(() => parseStageConfig('dev', stage)).toThrow(/\.webAclArn excludes waf: true/);
    });

    it('rejects a stage name that cannot name stacks and caches', () => {
      expect(() => parseStageConfig('Prod_1', stagesOfCdkJson().dev)).toThrow(/stage name "Prod_1" must be 1-20 lowercase letters, digits or hyphens/);
    });
  });

  describe('alarms that notify nobody', () => {
    const prodTable = () => structuredClone(stagesOfCdkJson().prod);

    it('refuses cdk.json\'s prod, which keeps its data and names no subscriber, naming the prop and the way out', () => {
      expect(() => loadStageConfig(testApp({ stage: 'prod' }))).toThrow(StageConfigError);
      expect(() => parseStageConfig('prod', prodTable())).toThrow(
        /^cache-pyramid:stages\.prod\.alarmSubscribers must name at least one email or webhook URL for a stage that keeps its data \(retainData: true\).*alarmsWithoutSubscribers: true.*got \{"emails":\[\],"webhookUrls":\[\]\}$/,
      );
    });

    it('builds prod once it names a subscriber, or acknowledges in the stage or for one synth', () => {
      expect(parseStageConfig('prod', { ...prodTable(), alarmSubscribers: { emails: ['oncall@shop.test'] } }).alarmsWithoutSubscribers).toBe(false);
      expect(parseStageConfig('prod', { ...prodTable(), alarmsWithoutSubscribers: true }).alarmsWithoutSubscribers).toBe(true);
      expect(loadStageConfig(testApp({ stage: 'prod', alarmsWithoutSubscribers: 'true' })).alarmsWithoutSubscribers).toBe(true);
    });

    it('lets a stage that deletes its data (dev) go without subscribers, and refuses a bad context value', () => {
      expect(loadStageConfig(testApp()).alarmSubscribers).toEqual({ emails: [], webhookUrls: [] });
      expect(() => loadStageConfig(testApp({ alarmsWithoutSubscribers: 'yes' }))).toThrow(/context 'alarmsWithoutSubscribers' must be true or false, got "yes"/);
    });
  });

  describe('guard rules (cfn-guard Control Tower)', () => {
    it.each([
      ['dev, no flag, no CI', false, 'dev', undefined, {}],
      ['dev in CI', true, 'dev', undefined, { CI: 'true' }],
      ['dev with CI=false', false, 'dev', undefined, { CI: 'false' }],
      ['prod, no flag', true, 'prod', undefined, {}],
      ['dev with -c guard=true', true, 'dev', 'true', {}],
      ['prod with -c guard=false', false, 'prod', 'false', { CI: 'true' }],
    ])('%s: runs them = %s', (_label, expected, stage, flag, env) => {
      const app = testApp(flag === undefined ? {} : { guard: flag });
      expect(guardRulesEnabled(app, { name: stage }, env)).toBe(expected);
    });

    it('rejects a guard flag that is neither true nor false', () => {
      expect(() => guardRulesEnabled(testApp({ guard: 'yes' }), { name: 'dev' }, {})).toThrow(/context 'guard' must be true or false, got "yes"/);
    });
  });
});
