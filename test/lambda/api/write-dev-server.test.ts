/**
 * The write routes under `npm run dev`, over real HTTP: the real script in its own process, real
 * Redis (both topologies) and PostgreSQL, real tokens from `npm run token`. Without SQS and
 * EventBridge the dev server runs the in-process write-behind queue (the flusher core) and purges
 * Redis in-process; on SIGTERM it drains the queue into PostgreSQL.
 */
import { ChildProcess, execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { killDevServer, startDevServer } from '../../support/dev-server';
import { PostgresServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { seededDatabase } from '../runtime/db/support';
import { NODE, tsxArgs } from '../../support/tsx';
import { userSubject } from '../../../db/seed/seed';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..', '..');

async function token(...args: string[]): Promise<string> {
  const { stdout } = await run(NODE, tsxArgs('scripts/token.ts', ...args), { cwd: ROOT });
  return stdout.trim();
}

describeEachTopology('write routes under npm run dev', (topology) => {
  let pg: PostgresServer;
  let pool: Pool;
  let dev: ChildProcess;
  let base: string;

  beforeAll(async () => {
    pg = await PostgresServer.start();
    const seeded = await seededDatabase(pg, { products: 30, users: 5 });
    pool = seeded.pool;
    const t = topology.current();
    const cacheEnv = t.kind === 'standalone' ? { REDIS_URL: t.url } : { REDIS_URL: `redis://127.0.0.1:${t.startupNodes[0].port}`, CACHE_CLUSTER_MODE: 'true' };
    ({ child: dev, base } = await startDevServer({ ...cacheEnv, DATABASE_URL: seeded.url }));
  });

  afterAll(async () => {
    await killDevServer(dev);
    await pool?.end();
    await pg?.stop();
  });

  test('PUT /api/products/{id} needs a products:write token from npm run token; the next read serves the update', async () => {
    const product = (await (await fetch(`${base}/api/products/4`)).json()) as Record<string, unknown>;
    const body = JSON.stringify({ name: 'Renamed in dev', description: product.description, priceCents: product.priceCents, stock: product.stock, category: product.category, version: product.version });
    const headers = { 'content-type': 'application/json' };
    const plain = await token('--sub', userSubject(1));
    const withoutScope = await fetch(`${base}/api/products/4`, { method: 'PUT', headers: { ...headers, authorization: `Bearer ${plain}` }, body });
    expect(withoutScope.status).toBe(403);
    await withoutScope.arrayBuffer();
    const noToken = await fetch(`${base}/api/products/4`, { method: 'PUT', headers, body });
    expect(noToken.status).toBe(401);
    await noToken.arrayBuffer();
    const writer = await token('--sub', userSubject(1), '--scope', 'products:write');
    const ok = await fetch(`${base}/api/products/4`, { method: 'PUT', headers: { ...headers, authorization: `Bearer ${writer}` }, body });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: 4, name: 'Renamed in dev', version: (product.version as number) + 1 });
    const read = await fetch(`${base}/api/products/4`);
    expect(read.headers.get('x-cache')).toBe('origin');
    expect(await read.json()).toMatchObject({ name: 'Renamed in dev' });
  });

  test('POST /api/orders stores the order in Redis; its owner reads it from there', async () => {
    const buyer = await token('--sub', userSubject(3));
    const placed = await fetch(`${base}/api/orders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer}` }, body: JSON.stringify({ items: [{ productId: 2, quantity: 2 }] }) });
    expect(placed.status).toBe(201);
    const order = (await placed.json()) as { id: number };
    const read = await fetch(`${base}${placed.headers.get('location')}`, { headers: { authorization: `Bearer ${buyer}` } });
    expect(read.headers.get('x-cache')).toBe('redis');
    expect(await read.json()).toEqual(order);
  });

  test('PATCH /api/users/{id}/profile answers 202, reads see it at once, and the in-process queue has written it to PostgreSQL when the server exits on SIGTERM', async () => {
    const own = await token('--sub', userSubject(2));
    const accepted = await fetch(`${base}/api/users/2/profile`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${own}` }, body: JSON.stringify({ bio: 'written behind in dev' }) });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ status: 'queued', profile: { id: 2, bio: 'written behind in dev' } });
    const read = await fetch(`${base}/api/users/2`, { headers: { authorization: `Bearer ${own}` } });
    expect(await read.json()).toMatchObject({ bio: 'written behind in dev' });

    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
    dev.kill('SIGTERM');
    expect(await exited).toBe(0);
    const { rows } = await pool.query<{ bio: string }>('select bio from users where id = 2');
    expect(rows[0].bio).toBe('written behind in dev');
  });
});
