/**
 * `npm run token -- --sub 42 [--scope products:write]… [--ttl 3600]`: prints a bearer token that the
 * dev server (`npm run dev`) accepts. Uses `JWT_SECRET`/`JWT_ISSUER`/`JWT_AUDIENCE` like the server.
 *
 * `npm run token -- --stack CachePyramid-dev --user alice [--scope products:write]… [--region eu-west-1]`:
 * prints an access token of the deployed stack's Cognito user pool for the test user `alice`
 * (created when missing), carrying exactly the given scopes. Needs AWS credentials allowed the
 * Cognito admin calls on that pool and cloudformation:DescribeStacks.
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { testUserAccessToken, userPoolOfStack } from './cognito-token';
import { devJwtSettings, signDevToken } from './dev-auth';

const USAGE = [
  'usage: npm run token -- --sub <user id> [--scope <scope>]… [--ttl <seconds>]            (dev server token)',
  '       npm run token -- --stack <stack> --user <name> [--scope <scope>]… [--region <r>]  (deployed user pool)',
].join('\n');

export async function tokenCommand(argv: string[], env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', multiple: true },
      ttl: { type: 'string' },
      stack: { type: 'string' },
      user: { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
  });
  const scopes = (values.scope ?? []).flatMap((s) => s.split(' ')).filter((s) => s !== '');
  if (values.stack !== undefined) {
    if (!values.user) throw new Error(`--user is required with --stack\n${USAGE}`);
    if (values.sub !== undefined || values.ttl !== undefined) throw new Error(`--sub and --ttl are for dev server tokens; the user pool sets the subject and lifetime\n${USAGE}`);
    const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    const pool = await userPoolOfStack(new CloudFormationClient({ region }), values.stack, region ?? '(default region)');
    return testUserAccessToken(new CognitoIdentityProviderClient({ region }), { ...pool, username: values.user, scopes });
  }
  if (!values.sub) throw new Error(`--sub is required\n${USAGE}`);
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86_400) throw new Error(`--ttl must be an integer between 1 and 604800 seconds, got ${JSON.stringify(values.ttl)}`);
  return signDevToken(devJwtSettings(env), { sub: values.sub, scopes, ttlSeconds: ttl });
}

if (require.main === module) {
  tokenCommand(process.argv.slice(2), process.env)
    .then((token) => process.stdout.write(`${token}\n`))
    .catch((error: Error) => {
      process.stderr.write(`token: ${error.message}\n`);
      process.exit(1);
    });
}
