/**
 * `cache-pyramid dev`: your own handler served over HTTP on this machine, as API Gateway HTTP API
 * (payload v2) and CloudFront would put requests to it, on a Redis and a PostgreSQL it starts (or
 * yours, with `REDIS_URL` / `DATABASE_URL`), PostgreSQL migrated with your migrations.
 *
 * - The handler module is loaded after the environment is set, so a module-scope
 *   `createPyramidRuntime()` reads it: `REDIS_URL`, `DATABASE_URL`, `CACHE_L1_BUS=listen` (unless set)
 *   and `ORIGIN_VERIFY_SECRET`, a random value this server adds as `x-origin-verify` to every request
 *   it forwards, as CloudFront does; the origin check stays on.
 * - A `.ts` handler is loaded through tsx (`tsx/cjs/api`), which the app installs (`npm i -D tsx`);
 *   a `.js` handler needs nothing.
 * - `Authorization: Bearer <jwt>`: the token's claims and scopes are passed as the JWT authorizer
 *   passes them, decoded WITHOUT verifying the signature (a local tool, listening on 127.0.0.1 by
 *   default); a token that does not decode is a 401, as API Gateway answers.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { readBody, send, toApiEvent, VerifiedJwt } from '../testing/http-events';
import { startLocalServers } from '../testing/local-servers';
import { UsageError } from './errors';

/** A Lambda handler for payload-v2 events, as `runtime.handler(...)` returns it. */
export type DevHandler = (event: unknown) => Promise<{ statusCode: number; headers?: Record<string, string | number | boolean>; body?: string; isBase64Encoded?: boolean; cookies?: string[] }>;

export interface DevOptions {
  /** Path of the handler module (`.ts` through tsx, or `.js`), relative to `cwd`. */
  readonly handler: string;
  /** Name of the handler's export. @default 'handler' */
  readonly exportName?: string;
  /** Folder of `NNN_name.sql` migrations applied to the PostgreSQL started here. @default - none */
  readonly migrations?: string;
  /** @default 3000 (0: a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default process.cwd() */
  readonly cwd?: string;
  /** The environment the handler runs with; this process's `process.env` is set to it plus what was started. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** One line per request and per server started. @default - not logged */
  readonly log?: (line: string) => void;
}

export interface DevLoop {
  readonly url: string;
  /** Lines saying which servers were started. */
  readonly started: readonly string[];
  /** Stops the HTTP server and the servers started here. */
  close(): Promise<void>;
}

/** The claims of a bearer JWT, decoded without verification (see the module comment). */
export function decodeBearer(authorization: string | undefined): VerifiedJwt | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/.exec(authorization.trim());
  if (!match) throw new Error('the Authorization header is not "Bearer <jwt>"');
  const payload = JSON.parse(Buffer.from(match[2], 'base64url').toString('utf8')) as Record<string, unknown>;
  if (typeof payload !== 'object' || payload === null) throw new Error('the JWT payload is not an object');
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) claims[name] = typeof value === 'string' ? value : JSON.stringify(value);
  const scope = typeof payload.scope === 'string' ? payload.scope : '';
  return { claims, scopes: scope === '' ? [] : scope.split(' ') };
}

function loadHandler(file: string, exportName: string): DevHandler {
  if (!fs.existsSync(file)) throw new UsageError(`--handler ${file} does not exist.`);
  let loaded: Record<string, unknown>;
  if (/\.[mc]?tsx?$/.test(file)) {
    let tsx: { require(id: string, fromFile: string): unknown };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: only a .ts handler needs it
      tsx = require('tsx/cjs/api') as typeof tsx;
    } catch {
      throw new UsageError(`--handler ${file} is TypeScript: install tsx in your app (npm i -D tsx), or point --handler at the compiled .js.`);
    }
    loaded = tsx.require(file, __filename) as Record<string, unknown>;
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's module, chosen at run time
    loaded = require(file) as Record<string, unknown>;
  }
  const handler = loaded[exportName];
  if (typeof handler !== 'function') {
    throw new UsageError(`--handler ${file} has no function export '${exportName}' (exports: ${Object.keys(loaded).join(', ') || 'none'}); set --export.`);
  }
  return handler as DevHandler;
}

/** Starts the servers, loads the handler, serves it. */
export async function startDev(options: DevOptions): Promise<DevLoop> {
  const cwd = options.cwd ?? process.cwd();
  const handlerFile = path.resolve(cwd, options.handler);
  const migrations = options.migrations === undefined ? undefined : path.resolve(cwd, options.migrations);
  if (migrations !== undefined && !fs.existsSync(migrations)) throw new UsageError(`--migrations ${migrations} does not exist.`);
  if (!fs.existsSync(handlerFile)) throw new UsageError(`--handler ${handlerFile} does not exist.`);
  const log = options.log ?? (() => undefined);
  const local = await startLocalServers({ env: options.env ?? process.env, migrationsDirectory: migrations });
  try {
    const originSecret = randomBytes(16).toString('hex');
    Object.assign(process.env, { CACHE_L1_BUS: 'listen', ...local.env, ORIGIN_VERIFY_SECRET: originSecret });
    const handler = loadHandler(handlerFile, options.exportName ?? 'handler');
    const server = http.createServer((req, res) => {
      const startedAt = process.hrtime.bigint();
      answer(req, res)
        .catch((error: Error) => {
          log(`the handler threw: ${error.stack ?? error.message}`);
          if (!res.headersSent) send(res, 502, { 'content-type': 'application/json' }, '{"message":"Internal Server Error"}');
        })
        .finally(() => log(`${req.method} ${req.url} ${res.statusCode} ${(Number(process.hrtime.bigint() - startedAt) / 1e6).toFixed(1)} ms`));
    });

    async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, { 'content-type': 'application/json' }, '{"message":"Request Entity Too Large"}');
      let jwt: VerifiedJwt | undefined;
      try {
        jwt = decodeBearer(req.headers.authorization);
      } catch (error) {
        log(`JWT refused: ${(error as Error).message}`);
        return send(res, 401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }, '{"message":"Unauthorized"}');
      }
      const headers = { ...req.headers, 'x-origin-verify': originSecret };
      const event = toApiEvent({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' }, jwt);
      const response = await handler(event);
      const responseHeaders = Object.fromEntries(Object.entries(response.headers ?? {}).map(([name, value]) => [name, String(value)]));
      const payload = response.isBase64Encoded ? Buffer.from(response.body ?? '', 'base64') : (response.body ?? '');
      if (response.cookies?.length) res.setHeader('set-cookie', response.cookies);
      send(res, response.statusCode, responseHeaders, payload);
    }

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = server.address() as { port: number };
    for (const line of local.started) log(line);
    return {
      url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
      started: local.started,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await local.stop();
      },
    };
  } catch (error) {
    await local.stop();
    throw error;
  }
}
