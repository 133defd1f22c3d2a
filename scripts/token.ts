/**
 * `npm run token -- --sub 42 [--scope products:write]… [--ttl 3600]`: prints a bearer token that the
 * dev server (`npm run dev`) accepts. Uses `JWT_SECRET`/`JWT_ISSUER`/`JWT_AUDIENCE` like the server.
 */
import { parseArgs } from 'node:util';
import { devJwtSettings, signDevToken } from './dev-auth';

const USAGE = 'usage: npm run token -- --sub <user id> [--scope <scope>]… [--ttl <seconds>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', multiple: true },
      ttl: { type: 'string' },
    },
    strict: true,
  });
  if (!values.sub) throw new Error(`--sub is required\n${USAGE}`);
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86_400) throw new Error(`--ttl must be an integer between 1 and 604800 seconds, got ${JSON.stringify(values.ttl)}`);
  const scopes = (values.scope ?? []).flatMap((s) => s.split(' ')).filter((s) => s !== '');
  const token = await signDevToken(devJwtSettings(process.env), { sub: values.sub, scopes, ttlSeconds: ttl });
  process.stdout.write(`${token}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`token: ${error.message}\n`);
  process.exit(1);
});
