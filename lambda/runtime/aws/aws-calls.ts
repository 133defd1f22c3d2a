/**
 * The AWS APIs a function calls at run time, declared next to its code (`lambda/<fn>/aws-calls.ts`)
 * so that the wiring tests can check, on the synthesised template, that each call is allowed by
 * the function's role on the resource the function is configured with and, for a function in a
 * VPC, reachable through an interface endpoint. Nothing at run time reads these lists.
 */
export interface AwsApiCall {
  /** The IAM action, e.g. `sqs:SendMessage`. */
  readonly action: string;
  /**
   * The environment variable naming the resource (ARN, queue URL, bus name, distribution id); the
   * role must allow the action on that resource. @default - the API has no resource-level permissions (`*`)
   */
  readonly resourceEnv?: string;
  /**
   * The interface endpoint service (`com.amazonaws.<region>.<service>`) a function in an isolated
   * VPC needs for the call. @default - none exists (the function must then run outside the VPC)
   */
  readonly endpointService?: string;
  /** Called only when `resourceEnv` is set (an optional feature). @default false */
  readonly optional?: boolean;
}

/** Active tracing: the X-Ray daemon of the execution environment sends segments with the role's rights. */
export const XRAY_TRACING_CALLS: readonly AwsApiCall[] = [
  { action: 'xray:PutTraceSegments', endpointService: 'xray' },
  { action: 'xray:PutTelemetryRecords', endpointService: 'xray' },
];

/** `GetSecretValue` on the secret named by `env` (database credentials, cache AUTH token, …). */
export function readsSecret(env: string, optional = false): AwsApiCall {
  return { action: 'secretsmanager:GetSecretValue', resourceEnv: env, endpointService: 'secretsmanager', optional };
}

/** `SendMessage` to the queue whose URL is in `env`. */
export function sendsToQueue(env: string, optional = false): AwsApiCall {
  return { action: 'sqs:SendMessage', resourceEnv: env, endpointService: 'sqs', optional };
}
