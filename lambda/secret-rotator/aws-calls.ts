import { AwsApiCall, readsSecret, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** What the secret rotator calls at run time (see `lambda/runtime/aws/aws-calls.ts`). */
export const SECRET_ROTATOR_AWS_CALLS: readonly AwsApiCall[] = [
  readsSecret('ORIGIN_VERIFY_SECRET_ARN', true),
  { action: 'secretsmanager:PutSecretValue', resourceEnv: 'ORIGIN_VERIFY_SECRET_ARN', endpointService: 'secretsmanager', optional: true },
  { action: 'cloudfront:GetDistribution', resourceEnv: 'DISTRIBUTION_ID', optional: true },
  { action: 'cloudfront:UpdateDistribution', resourceEnv: 'DISTRIBUTION_ID', optional: true },
  readsSecret('CACHE_AUTH_SECRET_ARN', true),
  { action: 'secretsmanager:PutSecretValue', resourceEnv: 'CACHE_AUTH_SECRET_ARN', endpointService: 'secretsmanager', optional: true },
  { action: 'elasticache:DescribeReplicationGroups', resourceEnv: 'REPLICATION_GROUP_ID', endpointService: 'elasticache', optional: true },
  { action: 'elasticache:ModifyReplicationGroup', resourceEnv: 'REPLICATION_GROUP_ID', endpointService: 'elasticache', optional: true },
  ...XRAY_TRACING_CALLS,
];
