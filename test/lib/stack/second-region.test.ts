import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addCachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { loadStageConfig } from '../../../lib/stages';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

/** Where a name must be unique: CloudFront and CLOUDFRONT-scope WAF names are account-wide, the rest per region. */
function namesOf(stack: Stack): string[] {
  const resources = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, CfnJson>);
  const at = (scope: string, name: unknown) => `${scope}: ${JSON.stringify(stack.resolve(name))}`;
  const names = [`stack ${stack.region}: ${stack.stackName}`];
  for (const r of resources) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::CloudFront::CachePolicy': names.push(at('cloudfront', p.CachePolicyConfig.Name)); break;
      case 'AWS::CloudFront::OriginRequestPolicy': names.push(at('cloudfront', p.OriginRequestPolicyConfig.Name)); break;
      case 'AWS::CloudFront::ResponseHeadersPolicy': names.push(at('cloudfront', p.ResponseHeadersPolicyConfig.Name)); break;
      case 'AWS::CloudFront::OriginAccessControl': names.push(at('cloudfront', p.OriginAccessControlConfig.Name)); break;
      case 'AWS::CloudFront::Function': names.push(at('cloudfront', p.Name)); break;
      case 'AWS::WAFv2::WebACL': names.push(at(`waf ${p.Scope}`, p.Name)); break;
      case 'AWS::CloudWatch::Alarm': names.push(at(`alarm ${stack.region}`, p.AlarmName)); break;
      default:
    }
  }
  return names;
}

describe('one stage in a second region (-c region=…)', () => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });

  it('collides with the stage in its home region on no account-wide or us-east-1 name: CloudFront, WAF, alarms, stacks', () => {
    const [home, second] = [{}, { region: 'us-west-2' }].map((override) => {
      const stacks = addCachePyramidStacks(testApp(), loadStageConfig(testApp({ stage: 'prod', ...ALARMS_ACKNOWLEDGED, ...override })));
      return [stacks.pyramid, stacks.edgeMonitoring, stacks.edgeSecurity!].flatMap(namesOf);
    });
    expect(home.filter((name) => name.startsWith('cloudfront: ')).length).toBeGreaterThanOrEqual(6);
    expect(home.filter((name) => name.startsWith('waf CLOUDFRONT: '))).toHaveLength(1);
    expect(home.filter((name) => name.startsWith('alarm us-east-1: ')).length).toBeGreaterThan(0);
    expect(home.filter((name) => second.includes(name))).toEqual([]);
  }, 180_000);

  it('keeps the companions\' names of a stage in its home region, so an upgrade does not move them', () => {
    const stacks = addCachePyramidStacks(testApp(), loadStageConfig(testApp({ stage: 'prod', ...ALARMS_ACKNOWLEDGED })));
    expect([stacks.edgeSecurity!.stackName, stacks.edgeMonitoring.stackName]).toEqual(['CachePyramid-prod-EdgeSecurity', 'CachePyramid-prod-EdgeMonitoring']);
    const moved = addCachePyramidStacks(testApp(), loadStageConfig(testApp({ stage: 'prod', region: 'us-west-2', ...ALARMS_ACKNOWLEDGED })));
    expect([moved.edgeSecurity!.stackName, moved.edgeMonitoring.stackName]).toEqual(['CachePyramid-prod-us-west-2-EdgeSecurity', 'CachePyramid-prod-us-west-2-EdgeMonitoring']);
  });
});
