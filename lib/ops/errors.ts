/** What the `cache-pyramid` CLI exits with; scripts can branch on it. */
export enum ExitCode {
  OK = 0,
  /** An AWS call failed for a reason not listed below. */
  FAILED = 1,
  /** Bad arguments, or a guarded command run without `--yes`. */
  USAGE = 2,
  /** No credentials or region, an unknown stack, or a stack without the outputs the command needs. */
  ENVIRONMENT = 3,
  /** The cache exists but is not `available` (or cannot do what was asked, e.g. fail over without replicas). */
  CACHE_NOT_AVAILABLE = 4,
  /** `alarms`: at least one alarm is in ALARM. */
  ALARMS_FIRING = 5,
  /** `failover-drill`: the replication group did not become available again within `--timeout`. */
  TIMED_OUT = 6,
}

/** An error the CLI reports as one clear line and an exit code, without a stack trace. */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

/** Thrown for arguments the command cannot run with. */
export class UsageError extends OpsError {
  constructor(message: string) {
    super(message, ExitCode.USAGE);
    this.name = 'UsageError';
  }
}

const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError']);
const EXPIRED_ERRORS = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);
const INVALID_CREDENTIAL_ERRORS = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException']);
const ACCESS_DENIED_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);

/**
 * Turns what the AWS SDK throws into an {@link OpsError} that says what to do: set up
 * credentials, pick a region, get the missing permission. `action` names the call
 * (`cloudformation:DescribeStacks`) for the access-denied message.
 */
export function explainAwsError(error: unknown, action: string): OpsError {
  if (error instanceof OpsError) return error;
  const name = (error as { name?: string }).name ?? '';
  const message = (error as { message?: string }).message ?? String(error);
  if (CREDENTIAL_ERRORS.has(name)) {
    return new OpsError(
      'No AWS credentials found. Set AWS_PROFILE (and run `aws sso login` for SSO profiles) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then retry.',
      ExitCode.ENVIRONMENT,
    );
  }
  if (EXPIRED_ERRORS.has(name)) {
    return new OpsError('Your AWS credentials have expired. Refresh them (e.g. `aws sso login`) and retry.', ExitCode.ENVIRONMENT);
  }
  if (INVALID_CREDENTIAL_ERRORS.has(name)) {
    return new OpsError(`AWS rejected the credentials (${name}). Check AWS_PROFILE / AWS_ACCESS_KEY_ID and the account.`, ExitCode.ENVIRONMENT);
  }
  if (message === 'Region is missing') {
    return new OpsError('No AWS region configured. Pass --region, or set AWS_REGION or a region in your AWS profile.', ExitCode.ENVIRONMENT);
  }
  if (ACCESS_DENIED_ERRORS.has(name)) {
    return new OpsError(`Access denied for ${action}: your identity needs that permission. AWS said: ${message}`, ExitCode.ENVIRONMENT);
  }
  return new OpsError(`${action} failed: ${name ? `${name}: ` : ''}${message}`, ExitCode.FAILED);
}
