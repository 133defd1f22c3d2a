import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ApiUserPool } from '../../../lib/api/api-user-pool';
import { scopesToAdd } from '../../../lambda/token-scopes/scopes';
import { testApp, testStack, unacknowledgedFindings } from '../../support/cdk';

describe('ApiUserPool', () => {
  function fixture(scopes: string[] = ['products:write']) {
    const stack = testStack();
    const pool = new ApiUserPool(stack, 'Auth', { scopes, removalPolicy: RemovalPolicy.DESTROY });
    return { stack, pool, template: Template.fromStack(stack) };
  }

  it('is a pool without self sign-up on the Essentials plan, with one group per API scope', () => {
    const { template } = fixture(['products:write', 'orders:admin']);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'ESSENTIALS',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 14 }) },
    });
    template.resourceCountIs('AWS::Cognito::UserPoolGroup', 2);
    template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'products:write' });
    template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'orders:admin' });
  });

  it('adds the groups\' scopes to access tokens through a version 2 pre token generation trigger', () => {
    const { template, stack, pool } = fixture();
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      LambdaConfig: {
        PreTokenGenerationConfig: {
          LambdaArn: { 'Fn::GetAtt': [stack.getLogicalId(pool.scopeTrigger.node.defaultChild as never), 'Arn'] },
          LambdaVersion: 'V2_0',
        },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ API_SCOPES: '["products:write"]' }) } });
    template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'cognito-idp.amazonaws.com', Action: 'lambda:InvokeFunction' });
  });

  it('has an app client without secret or hosted OAuth flows, signing in with ADMIN_USER_PASSWORD_AUTH and SRP', () => {
    const { template } = fixture();
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']),
      PreventUserExistenceErrors: 'ENABLED',
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('example.com');
  });

  it('exposes the tokens\' issuer and the client id as the audience', () => {
    const { stack, pool } = fixture();
    expect(stack.resolve(pool.issuer)).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [stack.getLogicalId(pool.userPool.node.defaultChild as never), 'ProviderName'] }]] });
    expect(stack.resolve(pool.audience)).toEqual([{ Ref: stack.getLogicalId(pool.userPoolClient.node.defaultChild as never) }]);
  });

  it('rejects a scope that cannot be a group name or an OAuth scope', () => {
    expect(() => fixture(['products write'])).toThrow(/every entry of `scopes` must be 1-128 printable characters without spaces.*got "products write"/);
  });

  it('leaves no cdk-nag or Control Tower finding on its own resources unacknowledged', () => {
    const app = testApp();
    new ApiUserPool(testStack({}, app), 'Auth', { scopes: ['products:write'] });
    const own = unacknowledgedFindings(app).filter((f) => f.constructPaths.some((p) => p.startsWith('Test/Auth')));
    expect(own).toEqual([]);
  });
});

describe('scopesToAdd (the trigger\'s core)', () => {
  it('grants the API scopes named by the user\'s groups, and nothing for other groups', () => {
    expect(scopesToAdd(['products:write', 'staff'], ['products:write', 'orders:admin'])).toEqual(['products:write']);
    expect(scopesToAdd([], ['products:write'])).toEqual([]);
    expect(scopesToAdd(['orders:admin'], [])).toEqual([]);
  });
});
