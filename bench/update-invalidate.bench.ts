/**
 * Update-and-invalidate (issue #3): `PUT /api/products/{id}` through the API handler — JSON parsing
 * and validation, the optimistic-concurrency UPDATE, the tombstone, the tag-set lookup and UNLINK of
 * the cached list pages showing the product, the CacheInvalidation event — against the plain SQL
 * UPDATE with the same version check alone, on the harness's real Redis and PostgreSQL, in the same
 * run. EventBridge `PutEvents` is answered in-process by aws-sdk-client-mock (no network), so the
 * figure is the pyramid's own cost over the database write.
 *
 * Before every timed PUT the product's page of the listing is read (untimed), so each write finds a
 * tagged, cached list to invalidate, as in production. Requests are interleaved with the baseline
 * (PUT, plain UPDATE, PUT, …) so that a busy machine slows both alike.
 */
import * as path from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { Pool } from 'pg';
import { seedDatabase } from '../db/seed/seed';
import { CacheClient } from '../lambda/runtime/cache';
import { runMigrations } from '../lambda/runtime/db/migrations';
import { CacheKeys } from '../lambda/runtime/keys';
import { apiEvent } from '../test/lambda/api/support';
import { acceptEverything, buildWriteApi, claims } from '../test/lambda/api/write-support';
import { PostgresServer, RedisServer } from '../test/support/servers';
import { BenchResult, percentile, result, row } from './support/result';

const WRITES = 1000;
const WARMUP = 100;
const PRODUCTS = 100;

function us(ms: number): number {
  return Math.round(ms * 1000);
}

export default async function bench(): Promise<BenchResult> {
  const redisServer = await RedisServer.start();
  const pgServer = await PostgresServer.start();
  const pool = new Pool({ connectionString: pgServer.url, max: 2 });
  const sqs = mockClient(SQSClient);
  const eventBridge = mockClient(EventBridgeClient);
  acceptEverything(sqs, eventBridge);
  const client = CacheClient.connect({ url: redisServer.url });
  try {
    await runMigrations(pool, path.join(__dirname, '..', 'db', 'migrations'));
    await seedDatabase(pool, { products: PRODUCTS * 2, users: 5 });
    await client.ready(5000);
    const keys = new CacheKeys({ namespace: 'bench' });
    const api = buildWriteApi(pool, keys, client);
    const writer = claims(1, 'products:write');

    const current = new Map<number, { name: string; description: string; priceCents: number; stock: number; category: string; version: number }>();
    const { rows } = await pool.query('select p.id::int as id, p.name, p.description, p.price_cents, p.stock, c.slug, p.version::int as version from products p join categories c on c.id = p.category_id where p.id <= $1', [PRODUCTS * 2]);
    for (const r of rows) current.set(r.id, { name: r.name, description: r.description, priceCents: r.price_cents, stock: r.stock, category: r.slug, version: r.version });

    // Products 1..100 are written through the API, 101..200 by the plain UPDATE: neither waits on the other's rows.
    const put = async (i: number): Promise<number> => {
      const id = (i % PRODUCTS) + 1;
      const product = current.get(id)!;
      await api.handle(apiEvent('/api/products', { query: `page=${Math.ceil(id / 20)}` }));
      const event = apiEvent(`/api/products/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, claims: writer, body: JSON.stringify({ ...product, priceCents: product.priceCents + 1 }) });
      const started = process.hrtime.bigint();
      const response = await api.handle(event);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (response.statusCode !== 200) throw new Error(`PUT /api/products/${id} answered ${response.statusCode}: ${response.body}`);
      const written = JSON.parse(response.body) as { version: number; priceCents: number };
      current.set(id, { ...product, priceCents: written.priceCents, version: written.version });
      return ms;
    };
    const plain = async (i: number): Promise<number> => {
      const id = PRODUCTS + (i % PRODUCTS) + 1;
      const product = current.get(id)!;
      const started = process.hrtime.bigint();
      const result = await pool.query(
        'update products set name = $2, description = $3, price_cents = $4, stock = $5, version = version + 1, updated_at = now() where id = $1 and version = $6 returning version',
        [id, product.name, product.description, product.priceCents + 1, product.stock, product.version],
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.rowCount !== 1) throw new Error(`plain update of product ${id} matched ${result.rowCount} rows`);
      current.set(id, { ...product, priceCents: product.priceCents + 1, version: Number(result.rows[0].version) });
      return ms;
    };

    for (let i = 0; i < WARMUP; i++) {
      await put(i);
      await plain(i);
    }
    const puts: number[] = [];
    const plains: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      puts.push(await put(WARMUP + i));
      plains.push(await plain(WARMUP + i));
    }
    const events = eventBridge.calls().length;
    if (events !== WARMUP + WRITES) throw new Error(`expected one CacheInvalidation event per PUT, got ${events} for ${WARMUP + WRITES}`);

    const [p50, p99, b50, b99] = [percentile(puts, 50), percentile(puts, 99), percentile(plains, 50), percentile(plains, 99)];
    return result('update-invalidate', `${WRITES} PUT /api/products/{id} through the handler (UPDATE + tombstone + tagged list UNLINK + CacheInvalidation event, PutEvents mocked) vs the plain optimistic UPDATE, interleaved, real Redis and PostgreSQL`, [
      row('PUT /api/products/{id}, p50', us(p50), 'µs', { baseline: { name: 'plain UPDATE, p50', value: us(b50) }, target: '≤ 5× baseline', pass: p50 <= 5 * b50 }),
      row('PUT /api/products/{id}, p99', us(p99), 'µs', { baseline: { name: 'plain UPDATE, p99', value: us(b99) }, target: '≤ 5× baseline', pass: p99 <= 5 * b99 }),
    ]);
  } finally {
    sqs.restore();
    eventBridge.restore();
    await client.quit();
    await pool.end();
    await Promise.all([redisServer.stop(), pgServer.stop()]);
  }
}
