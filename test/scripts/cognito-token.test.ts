import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminInitiateAuthCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { oneTimePassword, testUserAccessToken, userPoolOfStack } from '../../scripts/cognito-token';

const POOL = { userPoolId: 'eu-west-1_AbCdEf123', clientId: '5n1c2l3i4e5n6t7i8d9' };

function error(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

describe('npm run token -- --stack (a deployed user pool)', () => {
  const cognito = mockClient(CognitoIdentityProviderClient);
  const cloudFormation = mockClient(CloudFormationClient);
  afterEach(() => {
    cognito.reset();
    cloudFormation.reset();
  });
  afterAll(() => {
    cognito.restore();
    cloudFormation.restore();
  });

  function signInAnswers(groups: string[] = []): void {
    cognito.on(AdminCreateUserCommand).resolves({});
    cognito.on(AdminSetUserPasswordCommand).resolves({});
    cognito.on(AdminListGroupsForUserCommand).resolves({ Groups: groups.map((GroupName) => ({ GroupName })) });
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
    cognito.on(AdminInitiateAuthCommand).resolves({ AuthenticationResult: { AccessToken: 'header.payload.signature' } });
  }

  test('creates the user without a mail, sets a permanent password, grants the scope groups and signs in with it', async () => {
    signInAnswers();
    const token = await testUserAccessToken(cognito as never, { ...POOL, username: 'alice', scopes: ['products:write'] }, 'Pw-used-once-1234');
    expect(token).toBe('header.payload.signature');
    expect(cognito.commandCalls(AdminCreateUserCommand)[0].args[0].input).toEqual({ UserPoolId: POOL.userPoolId, Username: 'alice', MessageAction: 'SUPPRESS' });
    expect(cognito.commandCalls(AdminSetUserPasswordCommand)[0].args[0].input).toEqual({ UserPoolId: POOL.userPoolId, Username: 'alice', Password: 'Pw-used-once-1234', Permanent: true });
    expect(cognito.commandCalls(AdminAddUserToGroupCommand).map((c) => c.args[0].input.GroupName)).toEqual(['products:write']);
    expect(cognito.commandCalls(AdminInitiateAuthCommand)[0].args[0].input).toEqual({
      UserPoolId: POOL.userPoolId,
      ClientId: POOL.clientId,
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'alice', PASSWORD: 'Pw-used-once-1234' },
    });
  });

  test('reuses an existing user and takes back scopes an earlier run granted', async () => {
    signInAnswers(['products:write']);
    cognito.on(AdminCreateUserCommand).rejects(error('UsernameExistsException', 'User account already exists'));
    await expect(testUserAccessToken(cognito as never, { ...POOL, username: 'alice' })).resolves.toBe('header.payload.signature');
    expect(cognito.commandCalls(AdminAddUserToGroupCommand)).toHaveLength(0);
    expect(cognito.commandCalls(AdminRemoveUserFromGroupCommand).map((c) => c.args[0].input.GroupName)).toEqual(['products:write']);
  });

  test('says which scope no route needs when the pool has no group for it', async () => {
    signInAnswers();
    cognito.on(AdminAddUserToGroupCommand).rejects(error('ResourceNotFoundException', 'Group not found.'));
    await expect(testUserAccessToken(cognito as never, { ...POOL, username: 'alice', scopes: ['orders:admin'] })).rejects.toThrow(
      /user pool eu-west-1_AbCdEf123 has no group for the scope 'orders:admin'/,
    );
    expect(cognito.commandCalls(AdminInitiateAuthCommand)).toHaveLength(0);
  });

  test('explains a challenge instead of tokens, and a missing permission', async () => {
    signInAnswers();
    cognito.on(AdminInitiateAuthCommand).resolves({ ChallengeName: 'SOFTWARE_TOKEN_MFA' });
    await expect(testUserAccessToken(cognito as never, { ...POOL, username: 'bob' })).rejects.toThrow(/challenge SOFTWARE_TOKEN_MFA instead of tokens/);
    cognito.on(AdminSetUserPasswordCommand).rejects(error('AccessDeniedException', 'not authorized'));
    await expect(testUserAccessToken(cognito as never, { ...POOL, username: 'bob' })).rejects.toThrow(/Access denied for cognito-idp:AdminSetUserPassword/);
  });

  test('reads the pool and client from the stack outputs, and says when a stage has its own provider', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'CachePyramid-dev', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'UserPoolId', OutputValue: POOL.userPoolId }, { OutputKey: 'UserPoolClientId', OutputValue: POOL.clientId }] }],
    });
    await expect(userPoolOfStack(cloudFormation as never, 'CachePyramid-dev', 'eu-west-1')).resolves.toEqual(POOL);
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'CachePyramid-prod', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }] });
    await expect(userPoolOfStack(cloudFormation as never, 'CachePyramid-prod', 'eu-west-1')).rejects.toThrow(/has no output 'UserPoolId'.*a stage with `auth` in cdk.json has none/);
  });

  test('makes passwords that meet the pool policy, different each time', () => {
    const a = oneTimePassword();
    expect(a).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9]).{14,}$/);
    expect(oneTimePassword()).not.toBe(a);
  });
});
