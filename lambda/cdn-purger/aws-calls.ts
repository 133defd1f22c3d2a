import { AwsApiCall, sendsToQueue, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** What the CloudFront purger calls at run time (see `lambda/runtime/aws/aws-calls.ts`). */
export const CDN_PURGER_AWS_CALLS: readonly AwsApiCall[] = [
  // CloudFront offers no interface endpoint: the purger runs outside the VPC.
  { action: 'cloudfront:CreateInvalidation', resourceEnv: 'DISTRIBUTION_ID' },
  sendsToQueue('DEAD_LETTER_QUEUE_URL'),
  ...XRAY_TRACING_CALLS,
];
