import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { CachePyramidFunction } from './api-function';

/** Props for {@link ApiUserPool}. */
export interface ApiUserPoolProps {
  /**
   * The OAuth scopes the API's routes require (e.g. `products:write`); each becomes a user group
   * whose members get the scope in their access token. @default - none
   */
  readonly scopes?: readonly string[];
  /** What happens to the user pool when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/**
 * An identity provider for the API when you bring none: a Cognito user pool (no self sign-up:
 * users are created by an administrator or by `npm run token -- --stack …`), an app client whose
 * access tokens the API's JWT authorizer accepts, and one group per route scope.
 *
 * Access tokens from user sign-in (`InitiateAuth`, `AdminInitiateAuth`) carry no custom scopes:
 * Cognito adds resource-server scopes only on its OAuth endpoints, and writes them as
 * `<resource-server>/<scope>`, which no route names. A pre token generation trigger (event
 * version 2, which needs the Essentials feature plan) therefore adds the scopes of the user's
 * groups as the routes spell them, so API Gateway and the function check one and the same string.
 *
 * Wire it with {@link issuer} and {@link audience} (`client_id`, which API Gateway checks when a
 * token has no `aud`, as Cognito access tokens have not).
 */
export class ApiUserPool extends Construct {
  readonly userPool: cognito.UserPool;
  /** The app client developers and front ends sign in with. */
  readonly userPoolClient: cognito.UserPoolClient;
  /** The function that adds the groups' scopes to access tokens. */
  readonly scopeTrigger: CachePyramidFunction;
  /** The tokens' `iss`: `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
  readonly issuer: string;
  /** The accepted audiences: the app client's id. */
  readonly audience: string[];
  /** The scopes a group grants. */
  readonly scopes: readonly string[];

  constructor(scope: Construct, id: string, props: ApiUserPoolProps = {}) {
    super(scope, id);
    const scopes = [...new Set(props.scopes ?? [])];
    scopes.forEach((s) => {
      if (!SCOPE.test(s)) throw new Error(`ApiUserPool: every entry of \`scopes\` must be 1-128 printable characters without spaces, quotes or backslashes (an OAuth scope and a group name), got ${JSON.stringify(s)}`);
    });
    this.scopes = scopes;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      signInCaseSensitive: false,
      passwordPolicy: { minLength: 14, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(1) },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.NONE,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional (TOTP offered) so that `npm run token` can sign a test user in non-interactively with ADMIN_USER_PASSWORD_AUTH; bring your own identity provider (stage auth.issuer) for real users, or set mfa REQUIRED on this pool.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason: 'Threat protection (advanced security, ENFORCED) needs the Plus feature plan; this pool is the out-of-the-box provider of a fresh stage, on Essentials (needed for access token scopes).',
      },
      {
        id: 'AwsSolutions-COG8',
        reason: 'The Plus feature plan bills per monthly active user for threat protection this developer-facing pool does not use; Essentials already allows the access token customisation it needs.',
      },
    );

    this.scopeTrigger = new CachePyramidFunction(this, 'ScopeTrigger', {
      codeDir: 'token-scopes',
      description: 'cache-pyramid: adds the API scopes of a user\'s groups to Cognito access tokens',
      memorySize: 128,
      timeout: Duration.seconds(5),
      environment: { API_SCOPES: JSON.stringify(scopes) },
    });
    Validations.of(this.scopeTrigger).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason: 'The trigger reads only the event Cognito sends and calls no service, database or cache; a VPC would only add cold-start time to every sign-in.',
    });
    this.userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, this.scopeTrigger, cognito.LambdaVersion.V2_0);

    this.userPoolClient = this.userPool.addClient('Client', {
      generateSecret: false,
      authFlows: { adminUserPassword: true, userSrp: true },
      // No hosted OAuth flows: their tokens would carry `<resource-server>/<scope>` rather than the scopes the routes name.
      disableOAuth: true,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(1),
      enableTokenRevocation: true,
    });

    scopes.forEach((scopeName, i) => {
      new cognito.CfnUserPoolGroup(this, `ScopeGroup${i}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: scopeName,
        description: `Members get the ${scopeName} scope in their access tokens`,
      });
    });

    this.issuer = `https://${this.userPool.userPoolProviderName}`;
    this.audience = [this.userPoolClient.userPoolClientId];
  }
}
