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
}

/** AWS managed rule groups, in evaluation order: cheap reputation checks first. */
const MANAGED_RULE_GROUPS = ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesCommonRuleSet'];

/**
 * A WAFv2 web ACL for CloudFront (CLOUDFRONT scope, so it must live in us-east-1): AWS's IP
 * reputation list, known bad inputs and core rule set, then a per-IP rate limit. Everything
 * else is allowed; each rule publishes CloudWatch metrics and sampled requests.
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
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      metricName: `${props.namePrefix}-${metricName}`,
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
    });

    const managedRules: wafv2.CfnWebACL.RuleProperty[] = MANAGED_RULE_GROUPS.map((name, priority) => ({
      name,
      priority,
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      overrideAction: props.countOnly ? { count: {} } : { none: {} },
      visibilityConfig: visibility(name),
    }));
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: `${props.namePrefix}-edge`,
      description: 'cache-pyramid CloudFront web ACL: AWS managed rules and a per-IP rate limit',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('edge'),
      rules: [
        ...managedRules,
        {
          name: 'RateLimitPerIp',
          priority: managedRules.length,
          statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          action: props.countOnly ? { count: {} } : { block: {} },
          visibilityConfig: visibility('rate-limit'),
        },
      ],
    });
    this.webAclArn = this.webAcl.attrArn;
  }
}
