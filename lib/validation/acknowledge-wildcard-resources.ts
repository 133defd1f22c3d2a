import { Aspects, IAspect, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/** One class of wildcard resources in a role's policy and why it is acceptable. */
export interface WildcardResourceAcknowledgement {
  /** Matches the resource as cdk-nag prints it (`arn:<AWS::Partition>:s3:::bucket/*`, `<LogicalId.Arn>/*`). */
  readonly resource: RegExp;
  /** Why a reviewer can accept the wildcard. */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag `AwsSolutions-IAM5[Resource::…]` findings on the default policy of `role`, one
 * acknowledgement per exact resource that matches one of `acknowledgements` and nothing else.
 *
 * cdk-nag names each finding after the flattened resource (logical ids, account, region), which
 * changes with the stack; this computes those names from the synthesised policy, after every grant
 * has been added, so the acknowledgement stays on the one policy and the one resource it is for.
 */
export function acknowledgeWildcardResources(role: iam.IRole, acknowledgements: WildcardResourceAcknowledgement[]): void {
  Aspects.of(role).add(new WildcardResourceAcknowledger(acknowledgements));
}

class WildcardResourceAcknowledger implements IAspect {
  constructor(private readonly acknowledgements: WildcardResourceAcknowledgement[]) {}

  visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnPolicy)) return;
    const document = Stack.of(node).resolve(node.policyDocument) as { Statement?: Array<{ Effect: string; Resource?: unknown }> };
    for (const statement of document.Statement ?? []) {
      if (statement.Effect !== 'Allow') continue;
      const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      for (const resource of resources.map(flattenCfnReference).filter((r) => r.includes('*'))) {
        const match = this.acknowledgements.find((a) => a.resource.test(resource));
        if (match) Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason: match.reason });
      }
    }
  }
}

/** The same flattening cdk-nag applies before naming a finding (`Ref` → `<X>`, `Fn::GetAtt` → `<X.Attr>`). */
function flattenCfnReference(reference: unknown): string {
  if (reference === undefined) return '';
  if (typeof reference === 'string') return reference.replace(/\${/g, '<').replace(/}/g, '>');
  const node = reference as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenCfnReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [logicalId, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(logicalId)}.${flattenCfnReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenCfnReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenCfnReference(node.Ref)}>`;
  return JSON.stringify(reference);
}
