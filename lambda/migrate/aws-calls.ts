import { AwsApiCall, readsSecret, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** What the migration custom resource calls at run time (see `lambda/runtime/aws/aws-calls.ts`). */
export const MIGRATE_AWS_CALLS: readonly AwsApiCall[] = [readsSecret('DB_SECRET_ARN'), ...XRAY_TRACING_CALLS];
