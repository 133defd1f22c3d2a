/**
 * `npm run token -- --sub <uuid> [--scope products:write]… [--ttl 3600]`: prints a bearer token that the
 * dev server (`npm run dev`) accepts, whose `sub` is a UUID as Cognito issues it (the user it names
 * is the row whose `users.subject` it is). `--seed-user 42` instead of `--sub` names seed user 42 by
 * its subject. Uses `JWT_SECRET`/`JWT_ISSUER`/`JWT_AUDIENCE` like the server.
 *
 * `npm run token -- --stack CachePyramid-dev --user alice [--scope products:write]… [--region eu-west-1]`:
 * prints an access token of the deployed stack's Cognito user pool for the test user `alice`
 * (created when missing), carrying exactly the given scopes. Needs AWS credentials allowed the
 * Cognito admin calls on that pool and cloudformation:DescribeStacks.
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { userSubject } from '../db/seed/seed';
import { testUserAccessToken, userPoolOfStack } from './cognito-token';
import { devJwtSettings, signDevToken } from './dev-auth';

const USAGE = [
  'usage: npm run token -- --sub <uuid> | --seed-user <id> [--scope <scope>]… [--ttl <seconds>]  (dev server token)',
  '       npm run token -- --stack <stack> --user <name> [--scope <scope>]… [--region <r>]  (deployed user pool)',
].join('\n');

export async function tokenCommand(argv: string[], env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sub: { type: 'string' },
      'seed-user': { type: 'string' },
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
    if (values.sub !== undefined || values['seed-user'] !== undefined || values.ttl !== undefined) throw new Error(`--sub and --ttl are for dev server tokens; the user pool sets the subject and lifetime\n${USAGE}`);
    const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    const pool = await userPoolOfStack(new CloudFormationClient({ region }), values.stack, region ?? '(default region)');
    return testUserAccessToken(new CognitoIdentityProviderClient({ region }), { ...pool, username: values.user, scopes });
  }
  if ((values.sub === undefined) === (values['seed-user'] === undefined)) throw new Error(`--sub is required (or --seed-user instead)\n${USAGE}`);
  const seedUser = values['seed-user'] === undefined ? undefined : Number(values['seed-user']);
  if (seedUser !== undefined && (!Number.isSafeInteger(seedUser) || seedUser < 1)) throw new Error(`--seed-user must be a positive integer, got ${JSON.stringify(values['seed-user'])}`);
  const sub = seedUser === undefined ? values.sub! : userSubject(seedUser);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(sub)) {
    throw new Error(`--sub must be a lower-case UUID, as Cognito issues subjects (seed user n: --seed-user n), got ${JSON.stringify(sub)}`);
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86_400) throw new Error(`--ttl must be an integer between 1 and 604800 seconds, got ${JSON.stringify(values.ttl)}`);
  return signDevToken(devJwtSettings(env), { sub, scopes, ttlSeconds: ttl });
}

if (require.main === module) {
  tokenCommand(process.argv.slice(2), process.env)
    .then((token) => process.stdout.write(`${token}\n`))
    .catch((error: Error) => {
      process.stderr.write(`token: ${error.message}\n`);
      process.exit(1);
    });
}
