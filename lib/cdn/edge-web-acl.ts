import { Stack, Token } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Props for {@link EdgeWebAcl}. */
export interface EdgeWebAclProps {
  /** Prefix of the web ACL's name and its CloudWatch metric names. */
  readonly namePrefix: string;
  /** Requests one client IP may make in any 5-minute window before it is blocked. @default 2000 */
  readonly rateLimitPer5Minutes?: number;
  /** Count what the rules would block instead of blocking it (to tune a new deployment). @default false */
  readonly countOnly?: boolean;
  /**
   * Largest request body let through, in bytes: the API's own limit, so the edge refuses nothing
   * the API accepts (1 to 65536; above 16 KiB the web ACL inspects more of each body, which AWS
   * bills). @default 16384 (the shop's write limit, `WRITE_BODY_MAX_BYTES`)
   */
  readonly maxRequestBodyBytes?: number;
}

/** CloudFront web ACLs inspect this much of a body unless told otherwise; more costs extra. */
const DEFAULT_BODY_INSPECTION_BYTES = 16 * 1024;
/** The body inspection limits a CLOUDFRONT web ACL offers. */
const BODY_INSPECTION_LIMITS: Array<[bytes: number, name: string]> = [
  [16 * 1024, 'KB_16'],
  [32 * 1024, 'KB_32'],
  [48 * 1024, 'KB_48'],
  [64 * 1024, 'KB_64'],
];

/** AWS managed rule groups, in evaluation order: cheap reputation checks first. */
const MANAGED_RULE_GROUPS = ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesCommonRuleSet'];

/**
 * A WAFv2 web ACL for CloudFront (CLOUDFRONT scope, so it must live in us-east-1): AWS's IP
 * reputation list, known bad inputs and core rule set, a body size limit equal to the API's, then a
 * per-IP rate limit. Everything else is allowed; each rule publishes CloudWatch metrics and sampled
 * requests.
 *
 * The core rule set's `SizeRestrictions_BODY` blocks bodies over 8 KB, below what the API accepts
 * (16 KiB writes), so it only counts here and `BodySizeLimit` blocks at the API's own limit instead:
 * the edge and the API agree on what is too large.
 */
export class EdgeWebAcl extends Construct {
  /** The web ACL. */
  readonly webAcl: wafv2.CfnWebACL;
  /** Its ARN, for `EdgeDistribution`'s `webAclArn`. */
  readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: EdgeWebAclProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    if (!Token.isUnresolved(region) && region !== 'us-east-1') {
      throw new Error(`EdgeWebAcl: a web ACL for CloudFront must be created in us-east-1, this stack is in ${region}`);
    }
    if (!/^[\w-]{1,100}$/.test(props.namePrefix)) {
      throw new Error(`EdgeWebAcl: \`namePrefix\` must be 1-100 letters, digits, hyphens or underscores, got ${JSON.stringify(props.namePrefix)}`);
    }
    const rateLimit = props.rateLimitPer5Minutes ?? 2000;
    if (!Number.isInteger(rateLimit) || rateLimit < 10 || rateLimit > 2_000_000_000) {
      throw new Error(`EdgeWebAcl: \`rateLimitPer5Minutes\` must be an integer between 10 and 2000000000, got ${rateLimit}`);
    }
    const maxBodyBytes = props.maxRequestBodyBytes ?? DEFAULT_BODY_INSPECTION_BYTES;
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > 65_536) {
      throw new Error(`EdgeWebAcl: \`maxRequestBodyBytes\` must be an integer between 1 and 65536 (the most a CloudFront web ACL inspects), got ${maxBodyBytes}`);
    }
    const inspection = BODY_INSPECTION_LIMITS.find(([bytes]) => bytes >= maxBodyBytes)!;
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      metricName: `${props.namePrefix}-${metricName}`,
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
    });

    const managedRules: wafv2.CfnWebACL.RuleProperty[] = MANAGED_RULE_GROUPS.map((name, priority) => ({
      name,
      priority,
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ...(name === 'AWSManagedRulesCommonRuleSet' ? { ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }] } : {}),
        },
      },
      overrideAction: props.countOnly ? { count: {} } : { none: {} },
      visibilityConfig: visibility(name),
    }));
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: `${props.namePrefix}-edge`,
      description: 'cache-pyramid CloudFront web ACL: AWS managed rules and a per-IP rate limit',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('edge'),
      ...(inspection[0] === DEFAULT_BODY_INSPECTION_BYTES
        ? {}
        : { associationConfig: { requestBody: { CLOUDFRONT: { defaultSizeInspectionLimit: inspection[1] } } } }),
      rules: [
        ...managedRules,
        {
          name: 'BodySizeLimit',
          priority: managedRules.length,
          // A body beyond the inspection limit counts as a match (oversize MATCH), so nothing larger slips through uninspected.
          statement: {
            sizeConstraintStatement: {
              fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
              comparisonOperator: 'GT',
              size: maxBodyBytes,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          action: props.countOnly ? { count: {} } : { block: {} },
          visibilityConfig: visibility('body-size'),
        },
        {
          name: 'RateLimitPerIp',
          priority: managedRules.length + 1,
          statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          action: props.countOnly ? { count: {} } : { block: {} },
          visibilityConfig: visibility('rate-limit'),
        },
      ],
    });
    this.webAclArn = this.webAcl.attrArn;
  }
}
