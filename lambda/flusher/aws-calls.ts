import { AwsApiCall, readsSecret, sendsToQueue, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** What the write-behind flusher calls at run time (see `lambda/runtime/aws/aws-calls.ts`). */
export const FLUSHER_AWS_CALLS: readonly AwsApiCall[] = [
  readsSecret('DB_SECRET_ARN'),
  readsSecret('CACHE_AUTH_SECRET_ARN', true),
  // Poison changes are dead-lettered with their reason.
  sendsToQueue('WRITE_BEHIND_DLQ_URL'),
  ...XRAY_TRACING_CALLS,
];
