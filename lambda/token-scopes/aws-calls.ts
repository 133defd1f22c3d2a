import { AwsApiCall, XRAY_TRACING_CALLS } from '../runtime/aws/aws-calls';

/** The scope trigger calls nothing itself; only its tracing sends segments. */
export const TOKEN_SCOPES_AWS_CALLS: readonly AwsApiCall[] = [...XRAY_TRACING_CALLS];
