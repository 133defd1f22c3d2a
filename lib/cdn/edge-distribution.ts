import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { Sharing } from '../../lambda/runtime/resources/resource';
import { acknowledgeWildcardResources } from '../validation/acknowledge-wildcard-resources';
import { deriveResourceBehaviours, EdgeResource, ResourceBehaviour } from './resource-behaviours';
import { checkDurationType, checkList } from '../validation/check-props';

/** The header CloudFront adds to every API request; the API function rejects requests without it. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/**
 * The header that carries the viewer's `Authorization` value to the API. An origin request policy
 * cannot forward `Authorization` (CloudFront refuses it: only a cache policy can, by putting it in the
 * cache key), so a viewer-request CloudFront Function copies it here; the origin request policy
 * forwards this header without keying on it, and the HTTP API's JWT authorizer reads it
 * (`identitySource`). A viewer cannot smuggle a value past the function: it always overwrites it.
 */
export const VIEWER_AUTHORIZATION_HEADER = 'x-viewer-authorization';

/** The catch-all API behaviour: paths no declared resource claims (write routes, undeclared reads) are never cached. */
export const API_FALLBACK_PATH_PATTERN = '/api/*';

/** Uncached uptime check through the edge. */
const HEALTH_PATH_PATTERN = '/health';

/**
 * The error status codes CloudFront caches (for 10 s unless told otherwise), which it lets
 * configure (CloudFront Developer Guide, "HTTP status codes that CloudFront caches"): each gets an
 * error caching minimum TTL of 0, so a failure reaches one viewer and is never served to the next.
 * CloudFront honours `no-store` by itself only for 404, 410, 414 and 501. 416 is listed although
 * CloudFront documents that it does not cache it: the setting costs nothing and holds if that changes.
 */
export const EDGE_UNCACHED_ERROR_CODES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;

/** CloudFront's default quota of cache behaviours per distribution. */
const MAX_CACHE_BEHAVIOURS = 25;

/** `Cache-Control` of versioned (content-hashed) static files: cached for a year, never revalidated. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** `Cache-Control` of entry documents (`index.html`): always revalidated, so a deploy shows at once. */
export const ENTRY_DOCUMENT_CACHE_CONTROL = 'public, max-age=0, must-revalidate';

/**
 * Regions that host an Origin Shield (CloudFront Developer Guide, "Choosing the AWS Region for
 * Origin Shield"). Other regions get a synth warning: pick the nearest listed one.
 */
const ORIGIN_SHIELD_REGIONS = new Set([
  'us-east-1', 'us-east-2', 'us-west-2', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-southeast-1',
  'ap-southeast-2', 'eu-central-1', 'eu-west-1', 'eu-west-2', 'sa-east-1', 'me-central-1',
]);

const WAF_V2_GLOBAL_WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[\w-]+$/;
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Props for {@link EdgeDistribution}. */
export interface EdgeDistributionProps {
  /** Host name of the API origin, e.g. the HTTP API's `{id}.execute-api.{region}.amazonaws.com`. */
  readonly apiDomainName: string;
  /**
   * Secret whose `current` field CloudFront sends to the API as the `x-origin-verify` header (JSON
   * `{"current": …}`, as the API constructs create it; a `SecretRotator` keeps it in step).
   */
  readonly originVerifySecret: secretsmanager.ISecret;
  /** Region of Origin Shield in front of the API; choose the region of the API or the nearest one that has Origin Shield. @default - the stack's region */
  readonly originShieldRegion?: string;
  /** Whether requests to the API go through Origin Shield (one regional cache in front of the origin). @default true */
  readonly originShieldEnabled?: boolean;
  /**
   * The API's resource declarations (`defineResource` from `cache-pyramid/runtime`): one behaviour per
   * path pattern, most specific first. A public resource is cached, keyed on its declared query
   * parameters only (no header, no cookie); a per-subject one is never cached and gets every viewer
   * header. Anything else under `/api/*` (write routes, undeclared paths) reaches the API uncached.
   * @default - none: every `/api/*` request reaches the API uncached
   */
  readonly resources?: readonly EdgeResource[];
  /** Upper bound CloudFront applies to an API response's `max-age`/`s-maxage`. @default Duration.days(365) */
  readonly apiMaxTtl?: Duration;
  /** Local folder of static files to upload: content-hashed names get `public, max-age=31536000, immutable`. @default - nothing is uploaded */
  readonly sourceAssetsPath?: string;
  /** Files in `sourceAssetsPath` that keep stable names and must be revalidated on every request. @default ['index.html'] */
  readonly entryDocuments?: string[];
  /** Object served for `/`. @default 'index.html' */
  readonly defaultRootObject?: string;
  /** Alternate domain names (CNAMEs) viewers use; needs `certificate`. @default - only the `*.cloudfront.net` name */
  readonly domainNames?: string[];
  /** ACM certificate in us-east-1 covering `domainNames`. @default - the default CloudFront certificate */
  readonly certificate?: acm.ICertificate;
  /** ARN of a WAFv2 web ACL with CLOUDFRONT scope (always in us-east-1). @default - no web ACL */
  readonly webAclArn?: string;
  /** Which edge locations serve viewers (and what they cost). @default PriceClass.PRICE_CLASS_ALL */
  readonly priceClass?: cloudfront.PriceClass;
  /** Content-Security-Policy sent with static assets. @default - self-only sources, no framing, no plugins */
  readonly contentSecurityPolicy?: string;
  /** How long CloudFront access logs are kept in the log bucket. @default Duration.days(365) */
  readonly accessLogRetention?: Duration;
  /** Publish CloudFront's additional metrics (cache hit rate, origin latency, error rates by status); billed as custom metrics. @default true */
  readonly enableAdditionalMetrics?: boolean;
  /** What happens to the asset and log buckets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the buckets on stack deletion (only with `RemovalPolicy.DESTROY`), through a custom resource. @default false */
  readonly autoDeleteObjects?: boolean;
}

/**
 * The edge layer of the pyramid: one CloudFront distribution serving static assets from a private S3
 * bucket (origin access control) and the API (HTTP API origin locked by a secret header) under one
 * host name, so browsers need no CORS.
 *
 * Behaviours, in the order CloudFront evaluates them:
 * - one per path pattern of the declared `resources`, most specific first: public ones cached as long
 *   as the origin's `Cache-Control` says, keyed on the declared query parameters only, so signed-in
 *   and anonymous readers share one edge object and no header value can bypass it; per-subject ones
 *   uncached with every viewer header forwarded.
 * - `/api/*`: everything else of the API (writes, undeclared paths), uncached.
 * - `/health`: uncached, for uptime checks through the edge.
 * - default: static assets.
 *
 * CloudFront routes by path, not method, so a write on a public resource's path (`PUT
 * /api/products/{id}`) goes through that cached behaviour. Its token still reaches the API: a
 * viewer-request function copies `Authorization` into {@link VIEWER_AUTHORIZATION_HEADER}, which the
 * origin request policy forwards outside the cache key and the JWT authorizer reads.
 */
export class EdgeDistribution extends Construct {
  /** The CloudFront distribution. */
  readonly distribution: cloudfront.Distribution;
  /** Private bucket holding the static assets, readable only by this distribution. */
  readonly assetsBucket: s3.Bucket;
  /** Bucket receiving CloudFront standard logs and the asset bucket's server access logs. */
  readonly logBucket: s3.Bucket;
  /** The behaviours derived from `resources`, in the order CloudFront evaluates them. */
  readonly resourceBehaviours: readonly ResourceBehaviour[];
  /** Cache policy of each public resource path pattern (one policy per distinct query allow list). */
  readonly resourceCachePolicies: ReadonlyMap<string, cloudfront.ICachePolicy>;
  /** Copies the viewer's `Authorization` into {@link VIEWER_AUTHORIZATION_HEADER} on every API behaviour. */
  readonly viewerAuthorizationFunction: cloudfront.Function;
  /** Security headers added to API responses. */
  readonly apiResponseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** Security headers (with the Content-Security-Policy) added to static assets. */
  readonly assetsResponseHeadersPolicy: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    validateProps(props);
    this.resourceBehaviours = deriveResourceBehaviours(props.resources ?? []);
    checkBehaviourPatterns(this.resourceBehaviours);

    const originShieldEnabled = props.originShieldEnabled ?? true;
    const originShieldRegion = props.originShieldRegion ?? stack.region;
    if (originShieldEnabled && Token.isUnresolved(originShieldRegion)) {
      throw new Error(
        'EdgeDistribution: `originShieldRegion` is required when the stack has no concrete region (env-agnostic stack); pass it or set `env.region` on the stack',
      );
    }
    if (originShieldEnabled && !ORIGIN_SHIELD_REGIONS.has(originShieldRegion)) {
      Validations.of(this).addWarning(
        'OriginShieldRegion',
        `Origin Shield is not known to be offered in ${originShieldRegion}; set \`originShieldRegion\` to the nearest region that has it (${[...ORIGIN_SHIELD_REGIONS].join(', ')})`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDeleteObjects = props.autoDeleteObjects ?? false;

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      // CloudFront standard logging writes as the awslogsdelivery account through a bucket ACL grant.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [
        {
          expiration: props.accessLogRetention ?? Duration.days(365),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    acknowledgeLogBucket(this.logBucket);

    this.assetsBucket = new s3.Bucket(this, 'AssetsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3-access/assets/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    acknowledgeAssetsBucket(this.assetsBucket);
    if (autoDeleteObjects) acknowledgeAutoDeleteHandler(this);

    const policies = new Map<string, cloudfront.ICachePolicy>();
    const policiesByQuery = new Map<string, cloudfront.ICachePolicy>();
    for (const behaviour of this.resourceBehaviours.filter((b) => b.sharing === Sharing.PUBLIC)) {
      const queryKey = behaviour.queryNames.join(',');
      let policy = policiesByQuery.get(queryKey);
      if (policy === undefined) {
        // One policy per allow list, not per path: an account holds only 20 custom cache policies.
        policy = new cloudfront.CachePolicy(this, `PublicApiCachePolicy${queryKey === '' ? '' : pascalCase(behaviour.queryNames)}`, {
          comment: `cache-pyramid public API: TTL from the origin Cache-Control, keyed on ${queryKey === '' ? 'the path only' : `the query parameters ${queryKey} only`}`,
          ...originDrivenTtls(props.apiMaxTtl),
          queryStringBehavior:
            behaviour.queryNames.length === 0 ? cloudfront.CacheQueryStringBehavior.none() : cloudfront.CacheQueryStringBehavior.allowList(...behaviour.queryNames),
          headerBehavior: cloudfront.CacheHeaderBehavior.none(),
          cookieBehavior: cloudfront.CacheCookieBehavior.none(),
          enableAcceptEncodingGzip: true,
          enableAcceptEncodingBrotli: true,
        });
        policiesByQuery.set(queryKey, policy);
      }
      policies.set(behaviour.pathPattern, policy);
    }
    this.resourceCachePolicies = policies;
    // Writes send a JSON body and a token; both must reach the origin without splitting the cache key.
    const apiOriginRequestPolicy = new cloudfront.OriginRequestPolicy(this, 'ApiOriginRequestPolicy', {
      originRequestPolicyName: accountWideName(this, 'ApiOriginRequestPolicy', 128),
      comment: `cache-pyramid cached API behaviours: forward Content-Type and ${VIEWER_AUTHORIZATION_HEADER}, nothing else beyond the cache key`,
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList('Content-Type', VIEWER_AUTHORIZATION_HEADER),
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.none(),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
    });

    this.apiResponseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'ApiResponseHeaders', {
      responseHeadersPolicyName: accountWideName(this, 'ApiResponseHeaders', 128),
      comment: 'cache-pyramid API security headers',
      securityHeadersBehavior: securityHeaders("default-src 'none'; frame-ancestors 'none'"),
    });
    this.assetsResponseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'AssetsResponseHeaders', {
      responseHeadersPolicyName: accountWideName(this, 'AssetsResponseHeaders', 128),
      comment: 'cache-pyramid static asset security headers',
      securityHeadersBehavior: securityHeaders(
        props.contentSecurityPolicy ??
          "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests",
      ),
    });

    const apiOrigin = new origins.HttpOrigin(props.apiDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      originShieldEnabled,
      originShieldRegion: originShieldEnabled ? originShieldRegion : undefined,
      // CloudFront custom headers take no secret reference; unwrapping puts a CloudFormation dynamic
      // reference ({{resolve:secretsmanager:...}}) in the template, resolved at deploy, so the value
      // itself never appears in the template or in cdk.out.
      customHeaders: { [ORIGIN_VERIFY_HEADER]: props.originVerifySecret.secretValueFromJson('current').unsafeUnwrap() },
    });
    this.viewerAuthorizationFunction = new cloudfront.Function(this, 'ViewerAuthorization', {
      comment: `cache-pyramid: copies Authorization into ${VIEWER_AUTHORIZATION_HEADER}, which reaches the API outside the cache key`,
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(VIEWER_AUTHORIZATION_FUNCTION_CODE),
    });
    const privateApi: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: this.apiResponseHeadersPolicy,
      compress: true,
      functionAssociations: [{ function: this.viewerAuthorizationFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    };
    const cachedApi = (cachePolicy: cloudfront.ICachePolicy): cloudfront.BehaviorOptions => ({
      ...privateApi,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy,
      originRequestPolicy: apiOriginRequestPolicy,
    });

    const certificate = props.certificate;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `cache-pyramid edge (${stack.stackName})`,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.assetsBucket, {
          originAccessControl: new cloudfront.S3OriginAccessControl(this, 'AssetsOriginAccessControl', {
            originAccessControlName: accountWideName(this, 'AssetsOriginAccessControl', 64),
          }),
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.assetsResponseHeadersPolicy,
        compress: true,
      },
      additionalBehaviors: {
        ...Object.fromEntries(
          this.resourceBehaviours.map((b) => [b.pathPattern, b.sharing === Sharing.PUBLIC ? cachedApi(policies.get(b.pathPattern)!) : privateApi]),
        ),
        [API_FALLBACK_PATH_PATTERN]: privateApi,
        [HEALTH_PATH_PATTERN]: { ...privateApi, allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD, functionAssociations: undefined },
      },
      defaultRootObject: props.defaultRootObject ?? 'index.html',
      domainNames: props.domainNames,
      certificate,
      // Only a custom certificate takes a security policy; the default one is fixed by CloudFront.
      minimumProtocolVersion: certificate ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      sslSupportMethod: certificate ? cloudfront.SSLMethod.SNI : undefined,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_ALL,
      webAclId: props.webAclArn,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      publishAdditionalMetrics: props.enableAdditionalMetrics ?? true,
      // A failure is never cached at the edge (errors are `no-store`, docs/api.md), whatever CloudFront's default.
      errorResponses: EDGE_UNCACHED_ERROR_CODES.map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) })),
    });
    acknowledgeDistribution(this.distribution, { hasCertificate: certificate !== undefined, hasWebAcl: props.webAclArn !== undefined });

    if (props.sourceAssetsPath !== undefined) {
      this.deployAssets(props.sourceAssetsPath, props.entryDocuments ?? ['index.html']);
    }
  }

  /** Lets `grantee` create (and read) invalidations of this distribution only. */
  grantCreateInvalidation(grantee: iam.IGrantable): iam.Grant {
    return this.distribution.grantCreateInvalidation(grantee);
  }

  private deployAssets(sourceAssetsPath: string, entryDocuments: string[]): void {
    // Old versions stay (prune: false): pages still open in browsers keep loading the files they name.
    const versioned = new s3deploy.BucketDeployment(this, 'VersionedAssets', {
      sources: [s3deploy.Source.asset(sourceAssetsPath)],
      destinationBucket: this.assetsBucket,
      exclude: entryDocuments,
      prune: false,
      cacheControl: [s3deploy.CacheControl.fromString(IMMUTABLE_CACHE_CONTROL)],
    });
    const entry = new s3deploy.BucketDeployment(this, 'EntryDocuments', {
      sources: [s3deploy.Source.asset(sourceAssetsPath)],
      destinationBucket: this.assetsBucket,
      exclude: ['*'],
      include: entryDocuments,
      prune: false,
      cacheControl: [s3deploy.CacheControl.fromString(ENTRY_DOCUMENT_CACHE_CONTROL)],
    });
    // Entry documents name the versioned files, so they must not land first.
    entry.node.addDependency(versioned);
    acknowledgeBucketDeploymentHandler(versioned, this.assetsBucket);
  }
}

function validateProps(props: EdgeDistributionProps): void {
  checkList('EdgeDistribution', 'resources', props.resources, { optional: true, nonEmpty: true, what: 'resource declarations (defineResource), the ones ResourceApi serves' });
  checkDurationType('EdgeDistribution', 'apiMaxTtl', props.apiMaxTtl, 'Duration.days(1)');
  checkDurationType('EdgeDistribution', 'accessLogRetention', props.accessLogRetention, 'Duration.days(90)');
  if (!Token.isUnresolved(props.apiDomainName) && !HOST_NAME.test(props.apiDomainName)) {
    throw new Error(`EdgeDistribution: \`apiDomainName\` must be a bare host name (no scheme, path or port), got ${JSON.stringify(props.apiDomainName)}`);
  }
  const domainNames = props.domainNames ?? [];
  if (domainNames.length > 0 && props.certificate === undefined) {
    throw new Error(`EdgeDistribution: \`domainNames\` need a \`certificate\` (ACM, us-east-1) covering them, got domainNames ${JSON.stringify(domainNames)} and no certificate`);
  }
  if (props.certificate !== undefined && domainNames.length === 0) {
    throw new Error('EdgeDistribution: `certificate` is only used with `domainNames`; pass the names it covers');
  }
  for (const name of domainNames) {
    if (!Token.isUnresolved(name) && !HOST_NAME.test(name)) {
      throw new Error(`EdgeDistribution: every entry of \`domainNames\` must be a host name, got ${JSON.stringify(name)}`);
    }
  }
  const certificateArn = props.certificate?.certificateArn;
  if (certificateArn !== undefined && !Token.isUnresolved(certificateArn)) {
    const region = CERTIFICATE_ARN.exec(certificateArn)?.[1];
    if (region !== 'us-east-1') {
      throw new Error(`EdgeDistribution: \`certificate\` must be an ACM certificate in us-east-1 (CloudFront reads viewer certificates only there), got ${certificateArn}`);
    }
  }
  if (props.webAclArn !== undefined && !Token.isUnresolved(props.webAclArn) && !WAF_V2_GLOBAL_WEB_ACL_ARN.test(props.webAclArn)) {
    throw new Error(
      `EdgeDistribution: \`webAclArn\` must be the ARN of a WAFv2 web ACL with CLOUDFRONT scope (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got ${JSON.stringify(props.webAclArn)}`,
    );
  }
  const maxTtl = props.apiMaxTtl;
  if (maxTtl !== undefined && !maxTtl.isUnresolved() && (maxTtl.toSeconds() < 1 || maxTtl.toSeconds() > 31_536_000)) {
    throw new Error(`EdgeDistribution: \`apiMaxTtl\` must be between 1 second and 365 days, got ${maxTtl.toSeconds()} seconds`);
  }
  const retention = props.accessLogRetention;
  if (retention !== undefined && !retention.isUnresolved() && retention.toDays({ integral: false }) < 1) {
    throw new Error(`EdgeDistribution: \`accessLogRetention\` must be at least 1 day, got ${retention.toHumanString()}`);
  }
  if (props.autoDeleteObjects === true && props.removalPolicy !== RemovalPolicy.DESTROY) {
    throw new Error('EdgeDistribution: `autoDeleteObjects` needs `removalPolicy: RemovalPolicy.DESTROY` (retained buckets are never emptied)');
  }
  if (props.entryDocuments !== undefined && props.sourceAssetsPath === undefined) {
    throw new Error('EdgeDistribution: `entryDocuments` name files inside `sourceAssetsPath`; pass `sourceAssetsPath` too');
  }
}

/** The derived patterns must leave the fixed behaviours theirs and fit CloudFront's quota. */
function checkBehaviourPatterns(behaviours: readonly ResourceBehaviour[]): void {
  for (const behaviour of behaviours) {
    if (behaviour.pathPattern === API_FALLBACK_PATH_PATTERN || behaviour.pathPattern === HEALTH_PATH_PATTERN) {
      throw new Error(
        `EdgeDistribution: \`resources\` ${behaviour.resourceNames.join(', ')} resolve to ${behaviour.pathPattern}, a pattern the distribution keeps for itself (the uncached API catch-all and the health check); give the resource a literal path segment`,
      );
    }
  }
  const total = behaviours.length + 2;
  if (total > MAX_CACHE_BEHAVIOURS) {
    throw new Error(
      `EdgeDistribution: \`resources\` resolve to ${behaviours.length} path patterns, ${total} cache behaviours with the API catch-all and the health check; CloudFront allows ${MAX_CACHE_BEHAVIOURS} per distribution by default`,
    );
  }
}

/**
 * The name of a CloudFront resource whose names are account-wide (policies, origin access controls):
 * the distribution's unique name, the resource's id and the stack's region, so that one stage
 * deploys to a second region (`-c region=…`, same stack name) without a collision. An env-agnostic
 * stack gets `AWS::Region`, resolved at deploy.
 */
function accountWideName(scope: Construct, id: string, maxLength: number): string {
  const region = Stack.of(scope).region;
  // The longest region code is 14 characters (ap-southeast-1); the unique part gives way, keeping its hash.
  const regionLength = Token.isUnresolved(region) ? 20 : region.length;
  const unique = Names.uniqueResourceName(scope, { maxLength: maxLength - id.length - regionLength - 2, separator: '-' });
  return `${unique}-${id}-${region}`;
}

/** `['category', 'page']` → `CategoryPage`, for stable construct ids. */
function pascalCase(names: readonly string[]): string {
  return names.map((n) => n.charAt(0).toUpperCase() + n.slice(1).replace(/[^A-Za-z0-9]/g, '')).join('');
}

/**
 * CloudFront Functions JavaScript runtime 2.0. Every API request loses any viewer-sent copy, then
 * gets the one taken from `Authorization`; requests without a token carry none.
 */
const VIEWER_AUTHORIZATION_FUNCTION_CODE = `function handler(event) {
  var headers = event.request.headers;
  delete headers['${VIEWER_AUTHORIZATION_HEADER}'];
  if (headers.authorization) headers['${VIEWER_AUTHORIZATION_HEADER}'] = { value: headers.authorization.value };
  return event.request;
}`;

/** min 0 so `no-store`/`private` from the origin are obeyed; default 0 so a response without `Cache-Control` is not stored. */
function originDrivenTtls(maxTtl: Duration | undefined): Pick<cloudfront.CachePolicyProps, 'minTtl' | 'defaultTtl' | 'maxTtl'> {
  return { minTtl: Duration.seconds(0), defaultTtl: Duration.seconds(0), maxTtl: maxTtl ?? Duration.days(365) };
}

function securityHeaders(contentSecurityPolicy: string): cloudfront.ResponseSecurityHeadersBehavior {
  return {
    strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
    contentTypeOptions: { override: true },
    frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
    referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
    contentSecurityPolicy: { contentSecurityPolicy, override: true },
  };
}

const NO_OBJECT_EVENT_CONSUMER =
  'Nothing in the pyramid reacts to object-level events of this bucket; notifications without a consumer would only satisfy the check. Users who need them add them with bucket.addEventNotification.';

function acknowledgeLogBucket(bucket: s3.Bucket): void {
  Validations.of(bucket).acknowledge(
    { id: 'cdk-validator-cfnguard::s3_event_notifications_enabled_check', reason: NO_OBJECT_EVENT_CONSUMER },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_logging_enabled_check',
      reason: 'This bucket is the access-log destination itself; logging it into itself would loop, and into another bucket would only move the question.',
    },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_acl_prohibited_check',
      reason: 'CloudFront standard logging writes as the awslogsdelivery account through a bucket ACL grant, so ACLs stay enabled (BucketOwnerPreferred); public access is blocked.',
    },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
      reason: 'CloudFront standard logging delivers through an ACL grant to the awslogsdelivery account, for which AWS documents SSE-S3 destinations; logs are encrypted at rest with SSE-S3 (AES-256).',
    },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      reason: 'Access logs expire by lifecycle rule after the retention period; Object Lock would keep every version past it and block that expiry.',
    },
  );
}

function acknowledgeAssetsBucket(bucket: s3.Bucket): void {
  Validations.of(bucket).acknowledge(
    { id: 'cdk-validator-cfnguard::s3_event_notifications_enabled_check', reason: NO_OBJECT_EVENT_CONSUMER },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
      reason: 'The bucket holds only public static assets that CloudFront serves to any viewer; SSE-S3 encrypts them at rest, and a KMS key would add per-request cost without protecting anything secret.',
    },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      reason: 'Static assets are replaced on every deploy and old versions expire by lifecycle rule; Object Lock would block both. Versioning already protects against accidental overwrite.',
    },
  );
}

function acknowledgeDistribution(distribution: cloudfront.Distribution, options: { hasCertificate: boolean; hasWebAcl: boolean }): void {
  const validations = Validations.of(distribution);
  validations.acknowledge(
    {
      id: 'AwsSolutions-CFR1',
      reason: 'The API and assets serve a global audience; geo restriction is a business decision left to the user (Distribution.geoRestriction).',
    },
    {
      id: 'cdk-validator-cfnguard::cloudfront_origin_failover_enabled_check',
      reason: 'Both origins are single-region by design (one S3 bucket, one regional HTTP API); an origin group needs a second copy of each, which this stack does not run.',
    },
  );
  if (!options.hasCertificate) {
    const reason =
      'No custom domain is configured for this stage, so the distribution uses the default *.cloudfront.net certificate, which allows no custom certificate, SNI choice or minimum protocol. Configure `domain` in the stage config to get TLSv1.2_2021 with an ACM certificate.';
    validations.acknowledge(
      { id: 'AwsSolutions-CFR4', reason },
      { id: 'cdk-validator-cfnguard::cloudfront_custom_ssl_certificate_check', reason },
      { id: 'cdk-validator-cfnguard::cloudfront_sni_enabled_check', reason },
      { id: 'cdk-validator-cfnguard::cloudfront_security_policy_check', reason },
    );
  }
  if (!options.hasWebAcl) {
    validations.acknowledge({
      id: 'AwsSolutions-CFR2',
      reason: 'No web ACL is configured for this stage (a WAF web ACL costs a monthly fee plus per-request charges); the prod stage attaches one through `waf: true` in the stage config.',
    });
  }
}

/** `autoDeleteObjects` adds one provider per stack (its id is fixed by aws-cdk-lib). */
function acknowledgeAutoDeleteHandler(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider');
  if (provider === undefined) return;
  Validations.of(provider).acknowledge({
    id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
    reason: 'aws-cdk-lib auto-delete provider: runs only when the stack is deleted, to empty its buckets through the S3 API; inside the VPC it would need an S3 gateway endpoint for no isolation gain.',
  });
}

/**
 * BucketDeployment runs one singleton handler per stack (its id is fixed by aws-cdk-lib), so the
 * acknowledgements go on that function and its role.
 */
function acknowledgeBucketDeploymentHandler(deployment: s3deploy.BucketDeployment, assetsBucket: s3.IBucket): void {
  const handler = Stack.of(deployment).node.tryFindChild('Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C');
  if (!(handler instanceof Construct)) return;
  Validations.of(deployment.handlerRole).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'CDK BucketDeployment handler: the managed basic execution policy only lets it write its own logs.',
    },
    ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `CDK BucketDeployment handler: ${action} comes from grantRead/grantReadWrite and applies only to the CDK staging bucket and this assets bucket (see the Resource acknowledgements).`,
    })),
  );
  Validations.of(handler).acknowledge(
    {
      id: 'AwsSolutions-L1',
      reason: 'CDK BucketDeployment handler: its runtime is pinned by aws-cdk-lib and moves with CDK upgrades; it runs only during deployments.',
    },
    {
      id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
      reason: 'CDK BucketDeployment handler logs hold only the names of the synced public asset files; CloudWatch Logs encrypts them at rest with its service key.',
    },
    {
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason: 'CDK BucketDeployment handler runs only during deployments and talks only to S3; inside the VPC it would need an S3 gateway endpoint for no isolation gain.',
    },
  );
  const assetsBucketArn = `<${Stack.of(deployment).getLogicalId(assetsBucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`;
  acknowledgeWildcardResources(deployment.handlerRole, [
    {
      resource: /^arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-[^/]+\/\*$/,
      reason: 'CDK BucketDeployment handler reads the zipped assets it deploys from the CDK bootstrap staging bucket; object names there are content hashes known only at deploy time.',
    },
    {
      resource: new RegExp(`^${assetsBucketArn.replace(/[.*<>]/g, (c) => `\\${c}`)}$`),
      reason: 'CDK BucketDeployment handler syncs the asset files into this distribution\'s assets bucket; it writes whatever object names the asset folder holds.',
    },
  ]);
}
