import { AwsApiCall, readsSecret, sendsToQueue, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** What the API function calls at run time (see `lambda/runtime/aws/aws-calls.ts`). */
export const API_AWS_CALLS: readonly AwsApiCall[] = [
  readsSecret('DB_SECRET_ARN'),
  readsSecret('CACHE_AUTH_SECRET_ARN', true),
  readsSecret('ORIGIN_VERIFY_SECRET_ARN', true),
  // Write-behind profile changes (write-runtime.ts).
  sendsToQueue('WRITE_BEHIND_QUEUE_URL'),
  // Invalidation events of writes (write-runtime.ts), when the pipeline granted publishing.
  { action: 'events:PutEvents', resourceEnv: 'INVALIDATION_EVENT_BUS_NAME', endpointService: 'events', optional: true },
  ...XRAY_TRACING_CALLS,
];
