import { IAspect } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';

const restricted = new WeakSet<kms.Key>();

/**
 * Adds AWS's recommended statement to `key`'s policy: nobody may create a grant on the key unless
 * the grant is for an AWS resource or the caller is an AWS service. Grants are how a principal could
 * pass its use of the key on; the pyramid's services (SQS, CloudWatch Logs, ElastiCache, RDS,
 * Secrets Manager, SNS) never need a customer-made one. Satisfies Control Tower's CT.KMS.PR.3.
 * Adding it twice to one key is a no-op.
 */
export function restrictKmsGrantsToAwsServices(key: kms.Key): void {
  if (restricted.has(key)) return;
  restricted.add(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
}

/**
 * {@link restrictKmsGrantsToAwsServices} for every KMS key under a scope, including keys that
 * constructs from other libraries create: `Aspects.of(stack).add(new KmsGrantsForAwsServicesOnly())`.
 */
export class KmsGrantsForAwsServicesOnly implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof kms.Key) restrictKmsGrantsToAwsServices(node);
  }
}
