import { Template } from 'aws-cdk-lib/assertions';
import { EdgeWebAcl } from '../../../lib/cdn/edge-web-acl';
import { testStack } from '../../support/cdk';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

function webAcl(props: { maxRequestBodyBytes?: number; countOnly?: boolean } = {}): CfnJson {
  const stack = testStack({ env: { account: '111111111111', region: 'us-east-1' } });
  new EdgeWebAcl(stack, 'Acl', { namePrefix: 'pfx', ...props });
  return Object.values(Template.fromStack(stack).findResources('AWS::WAFv2::WebACL'))[0].Properties;
}

function rule(acl: CfnJson, name: string): CfnJson {
  const found = (acl.Rules as CfnJson[]).find((r) => r.Name === name);
  if (found === undefined) throw new Error(`no rule ${name}`);
  return found;
}

describe('EdgeWebAcl body size', () => {
  test('counts the core rule set\'s 8 KB body rule and blocks bodies over the API limit (16 KiB) instead', () => {
    const acl = webAcl();
    expect(rule(acl, 'AWSManagedRulesCommonRuleSet').Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual([
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
    const bodyRule = rule(acl, 'BodySizeLimit');
    expect(bodyRule.Action).toEqual({ Block: {} });
    expect(bodyRule.Statement.SizeConstraintStatement).toEqual({
      FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
      ComparisonOperator: 'GT',
      Size: 16384,
      TextTransformations: [{ Priority: 0, Type: 'NONE' }],
    });
    // The default inspection limit of a CloudFront web ACL is 16 KB: nothing to raise.
    expect(acl.AssociationConfig).toBeUndefined();
    const priorities = (acl.Rules as CfnJson[]).map((r) => r.Priority);
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  test('raises the body inspection limit to the next step when the API accepts more than 16 KiB', () => {
    const acl = webAcl({ maxRequestBodyBytes: 40_000 });
    expect(rule(acl, 'BodySizeLimit').Statement.SizeConstraintStatement.Size).toBe(40_000);
    expect(acl.AssociationConfig).toEqual({ RequestBody: { CLOUDFRONT: { DefaultSizeInspectionLimit: 'KB_48' } } });
  });

  test('only counts oversized bodies in count-only mode', () => {
    expect(rule(webAcl({ countOnly: true }), 'BodySizeLimit').Action).toEqual({ Count: {} });
  });

  test.each([0, 65_537, 1.5])('rejects maxRequestBodyBytes %p', (bytes) => {
    expect(() => webAcl({ maxRequestBodyBytes: bytes })).toThrow(
      new RegExp(`\`maxRequestBodyBytes\` must be an integer between 1 and 65536 \\(the most a CloudFront web ACL inspects\\), got ${bytes}`),
    );
  });
});
