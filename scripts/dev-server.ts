/**
 * `npm run dev`: the API and the default page (site/) on http://localhost:$PORT (default 3000),
 * using $REDIS_URL and $DATABASE_URL, or, for each one not set, a Redis or PostgreSQL of its own
 * (the test harness's servers on free ports, migrated and seeded). Each HTTP request becomes the API Gateway HTTP API payload-v2 event the Lambda
 * function receives, and goes through the same core with the same wiring (lambda/api/runtime.ts).
 *
 * Like API Gateway's JWT authorizer, routes marked `jwt` in lambda/shop/api/routes.ts require a
 * valid bearer token (HS256, see scripts/dev-auth.ts; get one with `npm run token -- --seed-user 42` or `--sub <uuid>`):
 * without one the request is refused with 401 before it reaches the function; with one, its claims
 * and scopes fill `requestContext.authorizer.jwt`. `GET /_stats` shows the cache's counters and hit rate.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { ApiRuntime, createApiRuntime } from '../lambda/api/runtime';
import { startMissingServers } from './local-servers';
import { readBody, send, toApiEvent } from '../lib/testing/http-events';
/** Kept importable from here, where the dev server's tests find it. */
export { toApiEvent };
import { siteFile } from './site-files';
import { matchRoute } from '../lambda/shop/api/routes';
import { matchWriteRoute } from '../lambda/shop/api/write-routes';
import type { CacheLogger } from '../lambda/runtime/cache';
import { ORIGIN_VERIFY_HEADER } from '../lambda/runtime/http/origin-verify';
import { DevJwtSettings, devJwtSettings, VerifiedJwt, verifyBearer } from './dev-auth';

export interface DevServerOptions {
  readonly port: number;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: CacheLogger;
}

export interface DevServer {
  readonly url: string;
  readonly runtime: ApiRuntime;
  close(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const jwtSettings: DevJwtSettings = devJwtSettings(options.env);
  // The dev server stands where CloudFront does: it adds the origin secret to every request it
  // forwards, so the API's origin check (on, as in AWS) passes for it alone.
  const originSecret = randomBytes(16).toString('hex');
  const runtime = await createApiRuntime({
    // A long-running process can listen: other processes' writes reach its L1 in milliseconds.
    env: { CACHE_L1_BUS: 'listen', ...options.env, ORIGIN_VERIFY_SECRET: originSecret },
    readSecret: async (arn) => {
      throw new Error(`the dev server reads no secrets (asked for ${arn}); set REDIS_URL and DATABASE_URL instead`);
    },
    logger: options.logger,
    applicationName: 'cache-pyramid-dev',
  });

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    handle(req, res)
      .catch((error: Error) => {
        options.logger.error('dev server failed to answer', { error: error.message });
        if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, '{"message":"Internal Server Error"}');
      })
      .finally(() => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const cache = res.getHeader('x-cache');
        options.logger.info(`${req.method} ${req.url} ${res.statusCode}${cache ? ` x-cache=${cache}` : ''} ${ms.toFixed(1)} ms`);
      });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { 'content-type': 'application/json' }, '{"message":"Request Entity Too Large"}');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = req.method === 'GET' || req.method === 'HEAD' ? siteFile(path) : undefined;
    if (page !== undefined) return send(res, 200, page.headers, req.method === 'HEAD' ? '' : page.body);
    if (path === '/_stats' && req.method === 'GET') {
      return send(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(runtime.cache.stats(), null, 2) + '\n');
    }
    let jwt: VerifiedJwt | undefined;
    if (matchRoute(path)?.jwt || matchWriteRoute(req.method ?? 'GET', path)?.kind === 'route') {
      try {
        jwt = await verifyBearer(jwtSettings, req.headers.authorization);
      } catch (error) {
        options.logger.info(`JWT refused: ${(error as Error).message}`);
        return send(res, 401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }, '{"message":"Unauthorized"}');
      }
    }
    const headers = { ...req.headers, [ORIGIN_VERIFY_HEADER]: originSecret };
    const event = toApiEvent({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' }, jwt);
    const response = await runtime.handle(event);
    const payload = response.isBase64Encoded ? Buffer.from(response.body, 'base64') : response.body;
    send(res, response.statusCode, response.headers, payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    runtime,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
    },
  };
}

/** Plain lines on stdout/stderr; `LOG_LEVEL=debug` shows the cache's debug messages. */
function consoleLogger(level: string): CacheLogger {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = Math.max(0, order.indexOf(level.toLowerCase()));
  const line = (lvl: string, message: string, attributes?: Record<string, unknown>): void => {
    if (order.indexOf(lvl) < min) return;
    const text = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${message}${attributes && Object.keys(attributes).length > 0 ? ' ' + JSON.stringify(attributes) : ''}\n`;
    (lvl === 'warn' || lvl === 'error' ? process.stderr : process.stdout).write(text);
  };
  return {
    debug: (m, a) => line('debug', m, a),
    info: (m, a) => line('info', m, a),
    warn: (m, a) => line('warn', m, a),
    error: (m, a) => line('error', m, a),
  };
}

async function main(): Promise<void> {
  const rawPort = process.env.PORT ?? '3000';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(rawPort)}`);
  const logger = consoleLogger(process.env.LOG_LEVEL ?? 'info');
  // Without REDIS_URL / DATABASE_URL the harness's servers stand in, on free ports, migrated and seeded.
  const local = await startMissingServers(process.env);
  for (const line of local.started) logger.info(line);
  let server: DevServer;
  try {
    server = await startDevServer({ port, host: process.env.HOST, env: local.env, logger });
  } catch (error) {
    await local.stop();
    throw error;
  }
  logger.info(`cache-pyramid API listening on ${server.url} (the page at /, GET /_stats for the hit rate)`);
  const stop = (signal: string): void => {
    logger.info(`${signal}: closing`);
    server
      .close()
      .then(() => local.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`dev server failed to start: ${error.message}\n`);
    process.exit(1);
  });
}
