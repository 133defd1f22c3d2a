import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ExitCode, OpsError, explainAwsError } from './errors';

/**
 * The outputs the reference stack publishes for operators and this CLI (`CfnOutput` ids, which
 * are also the output keys). A stack publishes exactly one of the two cache outputs.
 */
export enum StackOutput {
  /** The node-based cache's replication group id. */
  REPLICATION_GROUP_ID = 'ReplicationGroupId',
  /** The serverless cache's name. */
  SERVERLESS_CACHE_NAME = 'ServerlessCacheName',
  /** The invalidation pipeline's EventBridge bus. */
  EVENT_BUS_NAME = 'EventBusName',
  /** The CloudFront distribution's id. */
  DISTRIBUTION_ID = 'DistributionId',
  /** The prefix of every alarm name of the stack (and its us-east-1 companion). */
  ALARM_PREFIX = 'AlarmPrefix',
  /** The Cognito user pool of the API's tokens (stages without an `auth` of their own). */
  USER_POOL_ID = 'UserPoolId',
  /** The app client of that pool (the access tokens' `client_id`). */
  USER_POOL_CLIENT_ID = 'UserPoolClientId',
}

/** The stack name the CLI uses without `--stack`: the dev stage of `bin/cache-pyramid.ts`. */
export const DEFAULT_STACK_NAME = 'CachePyramid-dev';

/** A deployed pyramid stack, as the CLI sees it. */
export interface PyramidStack {
  readonly name: string;
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/** The two kinds of cache a pyramid stack may have. */
export enum CacheKind {
  REPLICATION_GROUP = 'replication-group',
  SERVERLESS = 'serverless',
}

/** The cache of a stack: its kind and its id (replication group id or serverless cache name). */
export interface StackCache {
  readonly kind: CacheKind;
  readonly id: string;
}

/** Reads the stack's status and outputs; an unknown stack is an {@link OpsError} that says so. */
export async function loadStack(cloudFormation: Pick<CloudFormationClient, 'send'>, stackName: string, region: string): Promise<PyramidStack> {
  let response;
  try {
    response = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new OpsError(
        `Stack '${stackName}' does not exist in ${region}. Deploy it (npx cdk deploy), or pass --stack NAME and --region REGION.`,
        ExitCode.ENVIRONMENT,
      );
    }
    throw explainAwsError(error, 'cloudformation:DescribeStacks');
  }
  const stack = response.Stacks?.[0];
  if (stack === undefined) {
    throw new OpsError(`Stack '${stackName}' does not exist in ${region}.`, ExitCode.ENVIRONMENT);
  }
  const outputs: Record<string, string> = {};
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
  }
  return { name: stack.StackName ?? stackName, status: stack.StackStatus ?? 'UNKNOWN', outputs };
}

/** The value of `output`, or an {@link OpsError} naming the stack and the missing output. */
export function requireOutput(stack: PyramidStack, output: StackOutput, why: string): string {
  const value = stack.outputs[output];
  if (value === undefined || value === '') {
    throw new OpsError(
      `Stack '${stack.name}' has no output '${output}', which ${why}. Is it a cache-pyramid stack, deployed by this version? (status ${stack.status})`,
      ExitCode.ENVIRONMENT,
    );
  }
  return value;
}

/** The stack's cache, from its `ReplicationGroupId` or `ServerlessCacheName` output. */
export function cacheOf(stack: PyramidStack): StackCache {
  const replicationGroupId = stack.outputs[StackOutput.REPLICATION_GROUP_ID];
  if (replicationGroupId) return { kind: CacheKind.REPLICATION_GROUP, id: replicationGroupId };
  const serverlessCacheName = stack.outputs[StackOutput.SERVERLESS_CACHE_NAME];
  if (serverlessCacheName) return { kind: CacheKind.SERVERLESS, id: serverlessCacheName };
  throw new OpsError(
    `Stack '${stack.name}' has neither a '${StackOutput.REPLICATION_GROUP_ID}' nor a '${StackOutput.SERVERLESS_CACHE_NAME}' output, so its cache cannot be found. Is it a cache-pyramid stack, deployed by this version? (status ${stack.status})`,
    ExitCode.ENVIRONMENT,
  );
}
