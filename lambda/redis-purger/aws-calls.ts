import { AwsApiCall, readsSecret, sendsToQueue, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** What the Redis purger calls at run time (see `lambda/runtime/aws/aws-calls.ts`). */
export const REDIS_PURGER_AWS_CALLS: readonly AwsApiCall[] = [
  readsSecret('CACHE_AUTH_SECRET_ARN', true),
  // Continuations of a long pattern purge go back to its own queue.
  sendsToQueue('PURGE_QUEUE_URL'),
  sendsToQueue('DEAD_LETTER_QUEUE_URL'),
  // Once Redis is clean, the paths go on to the CloudFront queue.
  sendsToQueue('CDN_PURGE_QUEUE_URL', true),
  ...XRAY_TRACING_CALLS,
];
