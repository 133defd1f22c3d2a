/**
 * `npm run dev` end to end over real HTTP: the real script in its own process on a free port, real
 * Redis (both topologies) and PostgreSQL, real tokens from `npm run token`.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { devJwtSettings, signDevToken } from '../../scripts/dev-auth';
import { toApiEvent } from '../../scripts/dev-server';
import { freePort, PostgresServer } from '../support/servers';
import { describeEachTopology } from '../support/topologies';
import { seededDatabase } from '../lambda/runtime/db/support';
import { NODE, tsxArgs } from '../support/tsx';
import { userSubject } from '../../db/seed/seed';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');

async function token(...args: string[]): Promise<string> {
  const { stdout } = await run(NODE, tsxArgs('scripts/token.ts', ...args), { cwd: ROOT });
  return stdout.trim();
}

describe('npm run token', () => {
  test('prints an HS256 token with the subject, the scopes as one space-separated claim, issuer and audience', async () => {
    const jwt = await token('--sub', userSubject(42), '--scope', 'products:write', '--scope', 'orders:read');
    const claims = decodeJwt(jwt);
    const settings = devJwtSettings({});
    expect(claims).toMatchObject({ sub: userSubject(42), scope: 'products:write orders:read', iss: settings.issuer, aud: settings.audience });
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  test('exits 1 without --sub', async () => {
    await expect(token()).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--sub is required') });
  });
});

describe('toApiEvent', () => {
  test('builds the payload-v2 shape API Gateway sends: cookies apart, repeated headers and parameters joined', () => {
    const event = toApiEvent({
      method: 'GET',
      url: '/api/products?category=books&page=1&page=2',
      headers: { host: 'localhost:3000', cookie: 'a=1; session=2', 'x-multi': ['one', 'two'], 'if-none-match': '"x"' },
      body: Buffer.alloc(0),
      sourceIp: '127.0.0.1',
    });
    expect(event).toMatchObject({
      version: '2.0',
      rawPath: '/api/products',
      rawQueryString: 'category=books&page=1&page=2',
      queryStringParameters: { category: 'books', page: '1,2' },
      cookies: ['a=1', 'session=2'],
      headers: { host: 'localhost:3000', 'x-multi': 'one,two', 'if-none-match': '"x"' },
      requestContext: { http: { method: 'GET', path: '/api/products', sourceIp: '127.0.0.1' }, stage: '$default' },
      isBase64Encoded: false,
    });
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event).not.toHaveProperty('body');
  });

  test('passes a JSON body as text and anything else base64-encoded', () => {
    const json = toApiEvent({ method: 'POST', url: '/x', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":1}'), sourceIp: '::1' });
    expect(json).toMatchObject({ body: '{"a":1}', isBase64Encoded: false });
    const binary = toApiEvent({ method: 'POST', url: '/x', headers: {}, body: Buffer.from([0, 255]), sourceIp: '::1' });
    expect(binary).toMatchObject({ body: 'AP8=', isBase64Encoded: true });
  });
});

describeEachTopology('npm run dev', (topology) => {
  let pg: PostgresServer;
  let dev: ChildProcess;
  let base: string;
  let output = '';

  beforeAll(async () => {
    pg = await PostgresServer.start();
    const seeded = await seededDatabase(pg, { products: 30, users: 5 });
    await seeded.pool.end();
    const t = topology.current();
    const cacheEnv = t.kind === 'standalone' ? { REDIS_URL: t.url } : { REDIS_URL: `redis://127.0.0.1:${t.startupNodes[0].port}`, CACHE_CLUSTER_MODE: 'true' };
    const port = await freePort();
    dev = spawn(NODE, tsxArgs('scripts/dev-server.ts'), { cwd: ROOT, env: { ...process.env, ...cacheEnv, DATABASE_URL: seeded.url, PORT: String(port) } });
    dev.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!output.includes('listening on')) {
      if (dev.exitCode !== null || Date.now() > deadline) throw new Error(`dev server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      const exited = new Promise((r) => dev.once('exit', r));
      dev.kill('SIGKILL');
      await exited;
    }
    await pg?.stop();
  });

  test('serves a product from the origin, then from L1, with its caching headers and 304 on If-None-Match', async () => {
    const first = await fetch(`${base}/api/products/1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('origin');
    expect(first.headers.get('cache-control')).toBe('public, max-age=3600, stale-while-revalidate=60, stale-if-error=86400');
    expect(first.headers.get('vary')).toBe('Accept-Encoding');
    const body = (await first.json()) as { id: number };
    expect(body.id).toBe(1);
    const second = await fetch(`${base}/api/products/1`);
    expect(second.headers.get('x-cache')).toBe('l1');
    await second.arrayBuffer();
    const conditional = await fetch(`${base}/api/products/1`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(conditional.status).toBe(304);
    expect(await conditional.text()).toBe('');
  });

  test('verifies bearer tokens like the JWT authorizer on the users route', async () => {
    const own = await token('--sub', userSubject(2));
    const ok = await fetch(`${base}/api/users/2`, { headers: { authorization: `Bearer ${own}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('private, max-age=0, no-cache');
    expect(await ok.json()).toMatchObject({ id: 2 });

    // Another user's record answers like a missing one (the resource model's per-subject rule).
    const notYours = await fetch(`${base}/api/users/3`, { headers: { authorization: `Bearer ${own}` } });
    expect(notYours.status).toBe(404);
    await notYours.arrayBuffer();

    const settings = devJwtSettings({});
    const expired = await signDevToken(settings, { sub: '2', nowSeconds: Math.floor(Date.now() / 1000) - 7200, ttlSeconds: 60 });
    const wrongAudience = await signDevToken({ ...settings, audience: 'someone-else' }, { sub: '2' });
    const wrongKey = await signDevToken({ ...settings, secret: 'x'.repeat(40) }, { sub: '2' });
    for (const authorization of [undefined, 'Bearer', `Basic ${own}`, `Bearer ${expired}`, `Bearer ${wrongAudience}`, `Bearer ${wrongKey}`]) {
      const res = await fetch(`${base}/api/users/2`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toEqual({ message: 'Unauthorized' });
    }
  });

  test('answers bad input with 400 naming the field', async () => {
    const res = await fetch(`${base}/api/products?category=books&colour=red`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', field: 'colour' } });
  });

  test('GET /_stats shows the reads and the hit rate', async () => {
    const before = (await (await fetch(`${base}/_stats`)).json()) as { reads: number; served: Record<string, number> };
    await (await fetch(`${base}/api/config`)).arrayBuffer();
    await (await fetch(`${base}/api/config`)).arrayBuffer();
    const after = (await (await fetch(`${base}/_stats`)).json()) as { reads: number; served: Record<string, number>; hitRate: number };
    expect(after.reads - before.reads).toBe(2);
    expect(after.served.origin - before.served.origin).toBe(1);
    expect(after.served.l1 - before.served.l1).toBe(1);
    expect(after.hitRate).toBeCloseTo((after.served.l1 + after.served.redis + after.served.stale) / after.reads, 10);
  });

  test('SIGTERM closes it cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
    dev.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM: closing/);
  });
});
