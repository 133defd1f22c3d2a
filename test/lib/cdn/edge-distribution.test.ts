import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  EdgeDistribution,
  EdgeDistributionProps,
  ENTRY_DOCUMENT_CACHE_CONTROL,
  IMMUTABLE_CACHE_CONTROL,
  ORIGIN_VERIFY_HEADER,
  VIEWER_AUTHORIZATION_HEADER,
} from '../../../lib/cdn/edge-distribution';
import { defineResource, ParamKind, Sharing, TtlClass } from '../../../lambda/runtime';
import { SHOP_RESOURCES } from '../../../lambda/shop/resources';
import { testApp, testStack, unacknowledgedFindings, ValidationFinding } from '../../support/cdk';

const ASSETS = path.join(__dirname, 'fixtures', 'static');
const API_HOST = 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com';
const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:111111111111:certificate/0f5e7b2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const WEB_ACL_ARN = 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/cache-pyramid/8c5c4a1e-0d5b-4f5e-9a6b-1c2d3e4f5a6b';

/** AWS managed policies, by the ids CloudFront publishes. */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

function edge(props: Partial<EdgeDistributionProps> = {}, stack: Stack = testStack()): { stack: Stack; edge: EdgeDistribution; template: Template } {
  const secret = new secretsmanager.Secret(stack, 'OriginVerify');
  const construct = new EdgeDistribution(stack, 'Edge', { apiDomainName: API_HOST, originVerifySecret: secret, resources: SHOP_RESOURCES, ...props });
  return { stack, edge: construct, template: Template.fromStack(stack) };
}

/** CloudFormation read back from a synthesised template; each test asserts the shape it relies on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

/** The test's stand-in secret is not rotated; rotation is CacheApi's concern and acknowledged there. */
function notTheTestSecret(finding: ValidationFinding): boolean {
  return !(finding.rule === 'AwsSolutions-SMG4' && finding.constructPaths.every((p) => p === 'Test/OriginVerify/Resource'));
}

function distributionConfig(template: Template): CfnJson {
  const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
  return distribution.Properties.DistributionConfig;
}

function behaviour(template: Template, pathPattern: string): CfnJson {
  const found = distributionConfig(template).CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === pathPattern);
  if (!found) throw new Error(`no behaviour for ${pathPattern}`);
  return found;
}

function cachePolicy(template: Template, ref: { Ref: string }): CfnJson {
  return template.toJSON().Resources[ref.Ref].Properties.CachePolicyConfig;
}

describe('EdgeDistribution', () => {
  describe('behaviours derived from the declared resources', () => {
    it('puts one behaviour per resource pattern first, most specific first, then the uncached API catch-all and /health', () => {
      const { template } = edge();
      const patterns = distributionConfig(template).CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern);
      expect(patterns).toEqual(['/api/products/*', '/api/products', '/api/orders/*', '/api/config', '/api/users/*', '/api/*', '/health']);
    });

    it('caches public resources keyed on their declared query parameters only, with no header or cookie in the key', () => {
      const { template } = edge();
      const list = cachePolicy(template, behaviour(template, '/api/products').CachePolicyId);
      expect(list).toMatchObject({ MinTTL: 0, DefaultTTL: 0, MaxTTL: 31_536_000 });
      expect(list.ParametersInCacheKeyAndForwardedToOrigin).toEqual({
        EnableAcceptEncodingGzip: true,
        EnableAcceptEncodingBrotli: true,
        QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['category', 'page'] },
        HeadersConfig: { HeaderBehavior: 'none' },
        CookiesConfig: { CookieBehavior: 'none' },
      });
      for (const pattern of ['/api/products/*', '/api/config']) {
        expect(cachePolicy(template, behaviour(template, pattern).CachePolicyId).ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({
          QueryStringsConfig: { QueryStringBehavior: 'none' },
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
        });
        expect(behaviour(template, pattern).CachedMethods).toEqual(['GET', 'HEAD']);
      }
    });

    it('shares one cache policy between public patterns with the same query allow list', () => {
      const { template } = edge();
      expect(behaviour(template, '/api/products/*').CachePolicyId).toEqual(behaviour(template, '/api/config').CachePolicyId);
      template.resourceCountIs('AWS::CloudFront::CachePolicy', 2);
    });

    it('never caches per-subject resources, the API catch-all or /health, and forwards every viewer header to them', () => {
      const { template } = edge();
      for (const pattern of ['/api/users/*', '/api/orders/*', '/api/*']) {
        expect(behaviour(template, pattern)).toMatchObject({
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          AllowedMethods: expect.arrayContaining(['POST', 'PATCH', 'PUT', 'DELETE']),
          ViewerProtocolPolicy: 'https-only',
          Compress: true,
        });
      }
      expect(behaviour(template, '/health')).toMatchObject({ CachePolicyId: CACHING_DISABLED, AllowedMethods: ['GET', 'HEAD'] });
    });

    it('uses the configured max TTL', () => {
      const { template } = edge({ apiMaxTtl: Duration.hours(1) });
      expect(cachePolicy(template, behaviour(template, '/api/products').CachePolicyId).MaxTTL).toBe(3600);
    });

    it('sends API requests uncached and creates no cache policy when no resource is declared', () => {
      const { template } = edge({ resources: undefined });
      expect(distributionConfig(template).CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern)).toEqual(['/api/*', '/health']);
      template.resourceCountIs('AWS::CloudFront::CachePolicy', 0);
    });
  });

  describe('writes through a cached behaviour', () => {
    it('forwards Content-Type and the copied token outside the cache key of public behaviours, which accept every method', () => {
      const { template } = edge();
      const products = behaviour(template, '/api/products/*');
      expect(products.AllowedMethods).toEqual(expect.arrayContaining(['PUT', 'GET', 'HEAD']));
      const policyId = products.OriginRequestPolicyId as { Ref: string };
      expect(behaviour(template, '/api/config').OriginRequestPolicyId).toEqual(policyId);
      expect(template.toJSON().Resources[policyId.Ref].Properties.OriginRequestPolicyConfig).toMatchObject({
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Content-Type', VIEWER_AUTHORIZATION_HEADER] },
        QueryStringsConfig: { QueryStringBehavior: 'none' },
        CookiesConfig: { CookieBehavior: 'none' },
      });
    });

    it('runs the token-copying viewer-request function on every API behaviour but /health', () => {
      const { template } = edge();
      const [functionId] = Object.keys(template.findResources('AWS::CloudFront::Function'));
      for (const pattern of ['/api/products/*', '/api/orders/*', '/api/products', '/api/users/*', '/api/config', '/api/*']) {
        expect(behaviour(template, pattern).FunctionAssociations).toEqual([
          { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } },
        ]);
      }
      expect(behaviour(template, '/health').FunctionAssociations).toBeUndefined();
    });

    it('copies Authorization into the forwarded header, overwriting a viewer-sent one and adding none without a token', () => {
      const { template } = edge();
      const [fn] = Object.values(template.findResources('AWS::CloudFront::Function'));
      expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
      const handler = new Function(`${fn.Properties.FunctionCode}; return handler;`)() as (event: unknown) => { headers: Record<string, { value: string }> };
      const run = (headers: Record<string, { value: string }>): Record<string, { value: string }> => handler({ request: { method: 'PUT', uri: '/api/products/1', headers } }).headers;
      expect(run({ authorization: { value: 'Bearer abc' } })).toEqual({ authorization: { value: 'Bearer abc' }, [VIEWER_AUTHORIZATION_HEADER]: { value: 'Bearer abc' } });
      expect(run({ authorization: { value: 'Bearer abc' }, [VIEWER_AUTHORIZATION_HEADER]: { value: 'Bearer forged' } })[VIEWER_AUTHORIZATION_HEADER]).toEqual({ value: 'Bearer abc' });
      expect(run({ [VIEWER_AUTHORIZATION_HEADER]: { value: 'Bearer forged' } })).toEqual({});
    });
  });

  describe('a resource declared by the user', () => {
    const article = defineResource({
      name: 'article',
      path: '/api/articles/{slug}',
      params: { slug: ParamKind.SLUG },
      sharing: Sharing.PUBLIC,
      ttl: TtlClass.PRODUCT,
      tags: (_value, params) => [`article:${params.slug}`],
    });
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

    it('gets its own behaviours and cache policies from its declaration alone, the longer pattern first', () => {
      const { template } = edge({ resources: [article, drafts, comments] });
      const patterns = distributionConfig(template).CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern);
      expect(patterns).toEqual(['/api/articles/*/comments', '/api/authors/*/drafts', '/api/articles/*', '/api/*', '/health']);
      const commentsKey = new Capture();
      template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
        CachePolicyConfig: {
          ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
            QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: commentsKey },
            HeadersConfig: { HeaderBehavior: 'none' },
          }),
        },
      });
      expect(commentsKey.asArray()).toEqual(['page']);
      expect(behaviour(template, '/api/authors/*/drafts').CachePolicyId).toBe(CACHING_DISABLED);
    });

    it('rejects a public and a per-subject resource on one pattern, naming both', () => {
      const mine = defineResource({ name: 'my-article', path: '/api/articles/{id}', sharing: Sharing.PER_SUBJECT, subjectParam: 'id', ttl: 60 });
      expect(() => edge({ resources: [article, mine] })).toThrow(
        /`resources`: article \(\/api\/articles\/\{slug\}, public\) and my-article \(\/api\/articles\/\{id\}, per-subject\) resolve to one CloudFront path pattern \/api\/articles\/\*/,
      );
    });

    it('rejects a public pattern that would come first and catch a per-subject resource\'s paths', () => {
      const latest = defineResource({ name: 'latest', path: '/api/{kind}/latest', params: { kind: ParamKind.SLUG }, sharing: Sharing.PUBLIC, ttl: 60 });
      const account = defineResource({ name: 'account', path: '/api/me/{id}', sharing: Sharing.PER_SUBJECT, subjectParam: 'id', ttl: 60 });
      expect(() => edge({ resources: [latest, account] })).toThrow(
        /the public pattern \/api\/\*\/latest \(latest\) comes first and also matches paths of the per-subject resource account \(\/api\/me\/\{id\}\)/,
      );
    });

    it('rejects a resource on the catch-all pattern the distribution keeps', () => {
      const anything = defineResource({ name: 'anything', path: '/api/{id}', sharing: Sharing.PUBLIC, ttl: 60 });
      expect(() => edge({ resources: [anything] })).toThrow(/`resources` anything resolve to \/api\/\*, a pattern the distribution keeps for itself/);
    });

    it('rejects more patterns than CloudFront has behaviours', () => {
      const many = Array.from({ length: 24 }, (_, i) => defineResource({ name: `r${i}`, path: `/api/r${i}`, sharing: Sharing.PUBLIC, ttl: 60 }));
      expect(() => edge({ resources: many })).toThrow(/`resources` resolve to 24 path patterns, 26 cache behaviours .* CloudFront allows 25/);
    });
  });

  describe('behaviours', () => {
    it('serves static assets from the bucket with the managed optimised policy, compressed, redirecting HTTP', () => {
      const { template } = edge();
      expect(distributionConfig(template).DefaultCacheBehavior).toMatchObject({
        CachePolicyId: CACHING_OPTIMIZED,
        AllowedMethods: ['GET', 'HEAD'],
        ViewerProtocolPolicy: 'redirect-to-https',
        Compress: true,
      });
      expect(distributionConfig(template).DefaultRootObject).toBe('index.html');
    });

    it('caches no error at the edge: every 4xx and 5xx CloudFront caches by default gets an error caching TTL of 0 and no error page', () => {
      const { template } = edge();
      // CloudFront Developer Guide, "HTTP 4xx and 5xx status codes that CloudFront caches" (10 s by default).
      const cachedByDefault = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];
      const responses = distributionConfig(template).CustomErrorResponses as CfnJson[];
      expect(responses.map((r) => r.ErrorCode).sort()).toEqual(cachedByDefault);
      for (const response of responses) expect(response).toEqual({ ErrorCode: response.ErrorCode, ErrorCachingMinTTL: 0 });
    });
  });

  describe('account-wide names', () => {
    /** Every name a CloudFront resource of `template` carries (policies, OACs, functions). */
    function cloudFrontNames(template: Template, stack: Stack): string[] {
      const resources = Object.values(template.toJSON().Resources as Record<string, CfnJson>).filter((r) => r.Type.startsWith('AWS::CloudFront::'));
      const names = resources.flatMap((r): unknown[] => {
        const p = r.Properties;
        switch (r.Type) {
          case 'AWS::CloudFront::CachePolicy': return [p.CachePolicyConfig.Name];
          case 'AWS::CloudFront::OriginRequestPolicy': return [p.OriginRequestPolicyConfig.Name];
          case 'AWS::CloudFront::ResponseHeadersPolicy': return [p.ResponseHeadersPolicyConfig.Name];
          case 'AWS::CloudFront::OriginAccessControl': return [p.OriginAccessControlConfig.Name];
          case 'AWS::CloudFront::Function': return [p.Name];
          case 'AWS::CloudFront::Distribution':
          case 'AWS::CloudFront::MonitoringSubscription': return [];
          default: throw new Error(`no name rule for ${r.Type}: add it here`);
        }
      });
      return names.map((name) => stack.resolve(name) as string);
    }

    it('carries the region in the name of every named CloudFront resource, so one stage deploys to two regions without a collision', () => {
      const [west, east] = ['eu-west-1', 'us-west-2'].map((region) => {
        const stack = testStack({ env: { account: '111111111111', region } });
        const { template } = edge({}, stack);
        return { region, names: cloudFrontNames(template, stack) };
      });
      for (const { region, names } of [west, east]) {
        expect(names.length).toBeGreaterThanOrEqual(6);
        for (const name of names) expect(typeof name === 'string' && name.includes(region)).toBe(true);
      }
      expect(west.names.filter((name) => east.names.includes(name))).toEqual([]);
    });

    it('keeps names within CloudFront\'s limits and takes AWS::Region in an env-agnostic stack', () => {
      const stack = new Stack(testApp(), 'AStackNameLongEnoughToPushEveryGeneratedNameToItsLimitOfCharacters', {});
      const { template } = edge({ originShieldRegion: 'eu-west-1' }, stack);
      template.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
        OriginRequestPolicyConfig: { Name: { 'Fn::Join': ['', [Match.stringLikeRegexp('-ApiOriginRequestPolicy-$'), { Ref: 'AWS::Region' }]] } },
      });
      const oacName = Object.values(template.findResources('AWS::CloudFront::OriginAccessControl'))[0].Properties.OriginAccessControlConfig.Name;
      expect(oacName['Fn::Join'][1][0].length + 'ap-southeast-1'.length).toBeLessThanOrEqual(64);
    });
  });

  describe('API origin', () => {
    it('sends the origin-verify secret as a dynamic reference, over TLS 1.2, through Origin Shield in the stack region', () => {
      const { template } = edge();
      const apiOrigin = distributionConfig(template).Origins.find((o: { DomainName: unknown }) => o.DomainName === API_HOST);
      expect(apiOrigin).toMatchObject({
        CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
        OriginShield: { Enabled: true, OriginShieldRegion: 'eu-west-1' },
        OriginCustomHeaders: [{ HeaderName: ORIGIN_VERIFY_HEADER, HeaderValue: expect.anything() }],
      });
      const headerValue = JSON.stringify(apiOrigin.OriginCustomHeaders[0].HeaderValue);
      expect(headerValue).toContain('{{resolve:secretsmanager:');
      expect(headerValue).toContain('OriginVerify');
      // The secret's current value, so that an update of the distribution after a rotation sends what the functions accept.
      expect(headerValue).toContain(':SecretString:current::}}');
    });

    it('puts Origin Shield where it is told, or nowhere when disabled', () => {
      const shifted = edge({ originShieldRegion: 'eu-central-1' }).template;
      expect(distributionConfig(shifted).Origins.find((o: { DomainName: unknown }) => o.DomainName === API_HOST).OriginShield).toEqual({
        Enabled: true,
        OriginShieldRegion: 'eu-central-1',
      });
      const disabled = edge({ originShieldEnabled: false }).template;
      expect(distributionConfig(disabled).Origins.find((o: { DomainName: unknown }) => o.DomainName === API_HOST).OriginShield).toEqual({
        Enabled: false,
      });
    });

    it('warns when the stack region has no Origin Shield', () => {
      const { stack } = edge({}, testStack({ env: { region: 'eu-south-2' } }));
      Annotations.fromStack(stack).hasWarning('/Test/Edge', Match.stringLikeRegexp('Origin Shield is not known to be offered in eu-south-2'));
    });
  });

  describe('static assets', () => {
    it('reads the private bucket through origin access control, SSL-only, with public access blocked', () => {
      const { template } = edge();
      template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
      });
      const assets = distributionConfig(template).Origins.find((o: { S3OriginConfig?: unknown }) => o.S3OriginConfig !== undefined);
      expect(assets.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^EdgeAssetsOriginAccessControl/), 'Id'] });
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { LogFilePrefix: 's3-access/assets/' },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Action: 's3:GetObject',
              Principal: { Service: 'cloudfront.amazonaws.com' },
              Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
            }),
          ]),
        },
      });
    });

    it('uploads content-hashed files as immutable for a year and entry documents as always revalidated', () => {
      const { template } = edge({ sourceAssetsPath: ASSETS });
      template.resourceCountIs('Custom::CDKBucketDeployment', 2);
      template.hasResourceProperties('Custom::CDKBucketDeployment', {
        SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
        Exclude: ['index.html'],
        Prune: false,
      });
      template.hasResourceProperties('Custom::CDKBucketDeployment', {
        SystemMetadata: { 'cache-control': ENTRY_DOCUMENT_CACHE_CONTROL },
        Exclude: ['*'],
        Include: ['index.html'],
        Prune: false,
      });
      expect(IMMUTABLE_CACHE_CONTROL).toBe('public, max-age=31536000, immutable');
    });

    it('treats the configured entry documents as revalidated and uploads nothing without a source', () => {
      const { template } = edge({ sourceAssetsPath: ASSETS, entryDocuments: ['index.html', 'manifest.json'] });
      template.hasResourceProperties('Custom::CDKBucketDeployment', { Exclude: ['index.html', 'manifest.json'] });
      template.hasResourceProperties('Custom::CDKBucketDeployment', { Include: ['index.html', 'manifest.json'] });
      edge().template.resourceCountIs('Custom::CDKBucketDeployment', 0);
    });
  });

  describe('viewer security', () => {
    it('serves HTTP/2 and HTTP/3, and TLSv1.2_2021 with SNI when a certificate and domain are given', () => {
      const stack = testStack();
      const certificate = acm.Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN);
      const { template } = edge({ domainNames: ['www.example.com'], certificate }, stack);
      expect(distributionConfig(template)).toMatchObject({
        HttpVersion: 'http2and3',
        Aliases: ['www.example.com'],
        ViewerCertificate: { AcmCertificateArn: CERTIFICATE_ARN, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
      });
    });

    it('adds HSTS, nosniff, frame denial, a referrer policy and a CSP to assets and API responses', () => {
      const { template } = edge({ contentSecurityPolicy: "default-src 'self'" });
      const expected = (csp: string): Record<string, unknown> => ({
        ResponseHeadersPolicyConfig: {
          SecurityHeadersConfig: {
            StrictTransportSecurity: { AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true },
            ContentTypeOptions: { Override: true },
            FrameOptions: { FrameOption: 'DENY', Override: true },
            ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
            ContentSecurityPolicy: { ContentSecurityPolicy: csp, Override: true },
          },
        },
      });
      template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', expected("default-src 'self'"));
      template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', expected("default-src 'none'; frame-ancestors 'none'"));
    });

    it('attaches the given WAF web ACL', () => {
      const { template } = edge({ webAclArn: WEB_ACL_ARN });
      expect(distributionConfig(template).WebACLId).toBe(WEB_ACL_ARN);
    });
  });

  describe('logging and metrics', () => {
    it('writes standard logs to an ACL-enabled, SSL-only log bucket that expires them', () => {
      const { template } = edge({ accessLogRetention: Duration.days(90) });
      const logging = distributionConfig(template).Logging;
      expect(logging).toEqual({ Bucket: { 'Fn::GetAtt': [expect.stringMatching(/^EdgeLogBucket/), 'RegionalDomainName'] }, Prefix: 'cloudfront/' });
      template.hasResourceProperties('AWS::S3::Bucket', {
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })]) },
      });
    });

    it('subscribes to the additional metrics (cache hit rate) unless told not to', () => {
      edge().template.hasResourceProperties('AWS::CloudFront::MonitoringSubscription', {
        MonitoringSubscription: { RealtimeMetricsSubscriptionConfig: { RealtimeMetricsSubscriptionStatus: 'Enabled' } },
      });
      edge({ enableAdditionalMetrics: false }).template.resourceCountIs('AWS::CloudFront::MonitoringSubscription', 0);
    });

    it('retains both buckets by default and empties them on deletion only when asked', () => {
      const retained = edge().template;
      expect(Object.values(retained.findResources('AWS::S3::Bucket')).map((b) => b.DeletionPolicy)).toEqual(['Retain', 'Retain']);
      const destroyed = edge({ removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true }).template;
      expect(Object.values(destroyed.findResources('AWS::S3::Bucket')).map((b) => b.DeletionPolicy)).toEqual(['Delete', 'Delete']);
      destroyed.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    });
  });

  it('grants invalidation of this distribution only', () => {
    const stack = testStack();
    const role = new iam.Role(stack, 'Purger', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const construct = new EdgeDistribution(stack, 'Edge', { apiDomainName: API_HOST, originVerifySecret: new secretsmanager.Secret(stack, 'OriginVerify') });
    construct.grantCreateInvalidation(role);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'cloudfront:CreateInvalidation',
            Resource: {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::111111111111:distribution/', { Ref: Match.stringLikeRegexp('^EdgeDistribution') }]],
            },
          },
        ],
      },
    });
  });

  describe('validation plugins', () => {
    it('leaves no cdk-nag or Control Tower finding unacknowledged, with assets, a domain and a web ACL', () => {
      const app = testApp();
      const stack = testStack({}, app);
      const certificate = acm.Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN);
      const secret = new secretsmanager.Secret(stack, 'OriginVerify');
      new EdgeDistribution(stack, 'Edge', {
        apiDomainName: API_HOST,
        originVerifySecret: secret,
        sourceAssetsPath: ASSETS,
        domainNames: ['www.example.com'],
        certificate,
        webAclArn: WEB_ACL_ARN,
      });
      expect(unacknowledgedFindings(app).filter(notTheTestSecret)).toEqual([]);
    });

    it('acknowledges the default certificate and the missing web ACL only when they are missing', () => {
      const app = testApp();
      const stack = testStack({}, app);
      new EdgeDistribution(stack, 'Edge', { apiDomainName: API_HOST, originVerifySecret: new secretsmanager.Secret(stack, 'OriginVerify') });
      expect(unacknowledgedFindings(app).filter(notTheTestSecret)).toEqual([]);
      const withDomain = testStack();
      const certificate = acm.Certificate.fromCertificateArn(withDomain, 'Certificate', CERTIFICATE_ARN);
      const { edge: construct } = edge({ domainNames: ['www.example.com'], certificate, webAclArn: WEB_ACL_ARN }, withDomain);
      const acknowledged = construct.distribution.node.metadata.flatMap((m) => Object.keys((m.data ?? {}) as object));
      expect(acknowledged).not.toContain('Annotation::AwsSolutions-CFR4');
      expect(acknowledged).not.toContain('Annotation::AwsSolutions-CFR2');
    });
  });

  describe('invalid props', () => {
    const cases: Array<[string, (stack: Stack) => Partial<EdgeDistributionProps>, RegExp]> = [
      ['apiDomainName with a scheme', () => ({ apiDomainName: `https://${API_HOST}/` }), /`apiDomainName` must be a bare host name.*https:\/\//],
      ['domainNames without a certificate', () => ({ domainNames: ['www.example.com'] }), /`domainNames` need a `certificate`.*www\.example\.com/],
      [
        'a certificate without domainNames',
        (stack) => ({ certificate: acm.Certificate.fromCertificateArn(stack, 'C', CERTIFICATE_ARN) }),
        /`certificate` is only used with `domainNames`/,
      ],
      [
        'a domain name that is not a host name',
        (stack) => ({ domainNames: ['www.example.com/x'], certificate: acm.Certificate.fromCertificateArn(stack, 'C', CERTIFICATE_ARN) }),
        /every entry of `domainNames` must be a host name.*www\.example\.com\/x/,
      ],
      [
        'a certificate outside us-east-1',
        (stack) => ({
          domainNames: ['www.example.com'],
          certificate: acm.Certificate.fromCertificateArn(stack, 'C', CERTIFICATE_ARN.replace('us-east-1', 'eu-west-1')),
        }),
        /`certificate` must be an ACM certificate in us-east-1.*eu-west-1/,
      ],
      [
        'a regional web ACL',
        () => ({ webAclArn: WEB_ACL_ARN.replace('us-east-1', 'eu-west-1').replace('global', 'regional') }),
        /`webAclArn` must be the ARN of a WAFv2 web ACL with CLOUDFRONT scope.*regional/,
      ],
      ['a max TTL over a year', () => ({ apiMaxTtl: Duration.days(400) }), /`apiMaxTtl` must be between 1 second and 365 days, got 34560000 seconds/],
      ['a log retention under a day', () => ({ accessLogRetention: Duration.hours(2) }), /`accessLogRetention` must be at least 1 day, got 2 hours/],
      ['autoDeleteObjects on retained buckets', () => ({ autoDeleteObjects: true }), /`autoDeleteObjects` needs `removalPolicy: RemovalPolicy.DESTROY`/],
      ['entry documents without a source', () => ({ entryDocuments: ['index.html'] }), /`entryDocuments` name files inside `sourceAssetsPath`/],
    ];
    it.each(cases)('rejects %s', (_name, props, message) => {
      const stack = testStack();
      expect(() => edge(props(stack), stack)).toThrow(message);
    });

    it('rejects Origin Shield in an env-agnostic stack without an explicit region', () => {
      const stack = new Stack(testApp(), 'Agnostic');
      expect(() => edge({}, stack)).toThrow(/`originShieldRegion` is required when the stack has no concrete region/);
      expect(() => edge({ originShieldEnabled: false }, new Stack(testApp(), 'Agnostic'))).not.toThrow();
    });
  });
});
