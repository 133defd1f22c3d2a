/**
 * A bearer token for a test user of a deployed stack's Cognito user pool (stages without an `auth`
 * of their own get one, see `lib/api/api-user-pool.ts`). The user is created when missing, given a
 * fresh random password (never printed or stored), put in exactly the groups of the asked scopes
 * (the pool's trigger turns them into the access token's scopes), and signed in with
 * ADMIN_USER_PASSWORD_AUTH. The access token is what API Gateway's JWT authorizer checks.
 */
import { randomBytes } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminInitiateAuthCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { explainAwsError, OpsError, ExitCode } from '../lib/ops/errors';
import { loadStack, requireOutput, StackOutput } from '../lib/ops/stack-outputs';

export interface TestUserTokenRequest {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly username: string;
  /** Scopes the token must carry (each a group of the pool). @default - none */
  readonly scopes?: readonly string[];
}

/** The pool and client a stack publishes (`UserPoolId`, `UserPoolClientId`). */
export async function userPoolOfStack(cloudFormation: Pick<CloudFormationClient, 'send'>, stackName: string, region: string): Promise<{ userPoolId: string; clientId: string }> {
  const stack = await loadStack(cloudFormation, stackName, region);
  const why = 'holds the Cognito user pool of a stage without its own identity provider (a stage with `auth` in cdk.json has none: ask that provider for a token)';
  return { userPoolId: requireOutput(stack, StackOutput.USER_POOL_ID, why), clientId: requireOutput(stack, StackOutput.USER_POOL_CLIENT_ID, why) };
}

/** A password that meets the pool's policy (14+ characters of every class); used once, never shown. */
export function oneTimePassword(): string {
  return `${randomBytes(24).toString('base64url')}aA1!`;
}

/** Creates or updates the test user and returns an access token carrying `scopes`. */
export async function testUserAccessToken(cognito: Pick<CognitoIdentityProviderClient, 'send'>, request: TestUserTokenRequest, password: string = oneTimePassword()): Promise<string> {
  const { userPoolId, username } = request;
  const scopes = [...new Set(request.scopes ?? [])];
  try {
    await cognito.send(new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: username, MessageAction: 'SUPPRESS' }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'UsernameExistsException') throw explainAwsError(error, 'cognito-idp:AdminCreateUser');
  }
  await call('cognito-idp:AdminSetUserPassword', () => cognito.send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: true })));

  const current = await call('cognito-idp:AdminListGroupsForUser', () => cognito.send(new AdminListGroupsForUserCommand({ UserPoolId: userPoolId, Username: username })));
  const currentGroups = new Set((current.Groups ?? []).map((g) => g.GroupName).filter((g): g is string => g !== undefined));
  for (const scope of scopes.filter((s) => !currentGroups.has(s))) {
    try {
      await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: scope }));
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') {
        throw new OpsError(`The user pool ${userPoolId} has no group for the scope '${scope}': no route of the API needs it.`, ExitCode.USAGE);
      }
      throw explainAwsError(error, 'cognito-idp:AdminAddUserToGroup');
    }
  }
  // A token carries exactly the asked scopes: a scope granted by an earlier run is taken back.
  for (const group of [...currentGroups].filter((g) => !scopes.includes(g))) {
    await call('cognito-idp:AdminRemoveUserFromGroup', () => cognito.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: group })));
  }

  const auth = await call('cognito-idp:AdminInitiateAuth', () =>
    cognito.send(
      new AdminInitiateAuthCommand({
        UserPoolId: userPoolId,
        ClientId: request.clientId,
        AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    ),
  );
  const token = auth.AuthenticationResult?.AccessToken;
  if (token === undefined) {
    throw new OpsError(`Cognito answered the sign-in of '${username}' with the challenge ${auth.ChallengeName ?? '(none)'} instead of tokens; turn MFA off for this test user.`, ExitCode.FAILED);
  }
  return token;
}

async function call<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw explainAwsError(error, action);
  }
}
