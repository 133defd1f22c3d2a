/**
 * POST /api/orders (write-through) and GET /api/orders/{id} (owner only), on real Redis (both
 * topologies) and PostgreSQL.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import Redis, { Cluster } from 'ioredis';
import { Pool } from 'pg';
import { CacheClient, decodeEnvelope } from '../../../lambda/runtime/cache';
import { OrderStore, type Order } from '../../../lambda/shop/write-path/orders';
import { PostgresServer, RedisServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { connectClient, freshKeys } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, json, useApiServers } from './support';
import { acceptEverything, buildWriteApi, claims } from './write-support';
import { order as orderResource } from '../../../lambda/shop/resources';

const JSON_HEADERS = { 'content-type': 'application/json' };
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

beforeEach(() => {
  sqs.reset();
  eventBridge.reset();
  acceptEverything(sqs, eventBridge);
});
afterAll(() => {
  sqs.restore();
  eventBridge.restore();
});

function post(payload: unknown, sub: number | null = 2, headers: Record<string, string> = JSON_HEADERS) {
  return apiEvent('/api/orders', { method: 'POST', headers, body: typeof payload === 'string' ? payload : JSON.stringify(payload), ...(sub === null ? {} : { claims: claims(sub) }) });
}

function get(id: number | string, sub: number | null) {
  return apiEvent(`/api/orders/${id}`, sub === null ? {} : { claims: claims(sub) });
}

describeEachTopology('write-through orders', (topology) => {
  const servers = useApiServers(topology, { products: 40, users: 5 });
  let pool: Pool;
  let redis: Redis | Cluster;
  beforeAll(() => ({ pool, redis } = servers));

  async function freshApi() {
    const client = await servers.client();
    return buildWriteApi(pool, freshKeys(topology.current()), client);
  }

  async function orderCount(): Promise<number> {
    const { rows } = await pool.query<{ n: string }>('select count(*) as n from orders');
    return Number(rows[0].n);
  }

  test('inserts the order and its items in one statement, answers 201 and stores the order in the cache', async () => {
    const api = await freshApi();
    const before = api.db.statements;
    const response = await api.handle(post({ items: [{ productId: 7, quantity: 2 }, { productId: 3, quantity: 1 }] }));
    expect(response.statusCode).toBe(201);
    // The token's subject looked up once (the process remembers the link), then one insert.
    expect(api.db.statements - before).toBe(2);
    const order = json(response.body) as Order;
    expect(response.headers.location).toBe(`/api/orders/${order.id}`);
    expect(response.headers['x-cache']).toBe('write-through');
    const { rows } = await pool.query<{ price_cents: number; id: string }>('select id, price_cents from products where id in (3, 7) order by id');
    expect(order).toMatchObject({
      userId: 2,
      status: 'placed',
      totalCents: rows[0].price_cents * 1 + rows[1].price_cents * 2,
      items: [
        { productId: 3, quantity: 1, unitPriceCents: rows[0].price_cents },
        { productId: 7, quantity: 2, unitPriceCents: rows[1].price_cents },
      ],
    });
    expect(decodeEnvelope<Order>(await redis.get(orderResource.key(api.keys, { id: order.id })))?.v).toEqual(order);
    // What the cache holds is exactly what PostgreSQL holds.
    expect(await new OrderStore(pool).findById(order.id)).toEqual(order);
  });

  test('serves the owner from the cache without touching PostgreSQL; anyone else gets exactly the answer of a missing order', async () => {
    const api = await freshApi();
    const order = json((await api.handle(post({ items: [{ productId: 4, quantity: 3 }] }))).body) as Order;
    const before = api.db.statements;
    const owner = await api.handle(get(order.id, 2));
    expect(owner.statusCode).toBe(200);
    expect(owner.headers['x-cache']).toBe('redis');
    expect(owner.headers['cache-control']).toBe('private, max-age=0, no-cache');
    expect(json(owner.body)).toEqual(order);
    expect(api.db.statements).toBe(before);
    const other = await api.handle(get(order.id, 3));
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain(String(order.totalCents));
    const missingId = order.id + 1_000_000;
    const missing = await api.handle(get(missingId, 3));
    // Same status, same headers, same body once the id is spelled the same: existence does not leak.
    expect({ status: missing.statusCode, headers: missing.headers }).toEqual({ status: other.statusCode, headers: other.headers });
    expect(missing.body.replace(String(missingId), '<id>')).toBe(other.body.replace(String(order.id), '<id>'));
    expect((await api.handle(get(order.id, null))).statusCode).toBe(401);
  });

  test('reads an order from PostgreSQL when it is not cached, then caches it', async () => {
    const api = await freshApi();
    const order = json((await api.handle(post({ items: [{ productId: 5, quantity: 1 }] }))).body) as Order;
    await redis.del(orderResource.key(api.keys, { id: order.id }));
    const first = await api.handle(get(order.id, 2));
    expect(first.headers['x-cache']).toBe('origin');
    expect(json(first.body)).toEqual(order);
    expect((await api.handle(get(order.id, 2))).headers['x-cache']).toBe('redis');
  });

  test('answers 404 for an order that does not exist, and a later order with that id overwrites the negative entry', async () => {
    const api = await freshApi();
    const { rows } = await pool.query<{ next: string }>("select last_value + 1 as next from pg_sequences where sequencename = 'orders_id_seq'");
    const nextId = Number(rows[0].next ?? 1);
    expect((await api.handle(get(nextId, 2))).statusCode).toBe(404);
    const order = json((await api.handle(post({ items: [{ productId: 6, quantity: 1 }] }))).body) as Order;
    expect(order.id).toBe(nextId);
    const read = await api.handle(get(order.id, 2));
    expect(read.statusCode).toBe(200);
    expect(read.headers['x-cache']).toBe('redis');
  });

  test.each([
    ['malformed JSON', 'body', '{"items": ['],
    ['no items', 'items', { items: [] }],
    ['an unknown field', 'coupon', { items: [{ productId: 1, quantity: 1 }], coupon: 'FREE' }],
    ['an unknown item field', 'items[0].price', { items: [{ productId: 1, quantity: 1, price: 0 }] }],
    ['a quantity of the wrong type', 'items[0].quantity', { items: [{ productId: 1, quantity: '2' }] }],
    ['a zero quantity', 'items[0].quantity', { items: [{ productId: 1, quantity: 0 }] }],
    ['a product id out of range', 'items[0].productId', { items: [{ productId: 2 ** 53, quantity: 1 }] }],
    ['the same product twice', 'items[1].productId', { items: [{ productId: 1, quantity: 1 }, { productId: 1, quantity: 2 }] }],
    ['an unknown product', 'items[1].productId', { items: [{ productId: 1, quantity: 1 }, { productId: 99_999, quantity: 1 }] }],
    ['too many items', 'items', { items: Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, quantity: 1 })) }],
  ])('%s answers 400 naming %s, and no order is written', async (_label, field, payload) => {
    const api = await freshApi();
    const before = await orderCount();
    const response = await api.handle(post(payload));
    expect(response.statusCode).toBe(400);
    expect(json(response.body)).toMatchObject({ error: { code: 'invalid_request', field } });
    expect(await orderCount()).toBe(before);
  });

  test('a token whose subject is not a user id answers 403, an order id out of range 400', async () => {
    const api = await freshApi();
    const response = await api.handle(apiEvent('/api/orders', { method: 'POST', headers: JSON_HEADERS, body: '{"items":[{"productId":1,"quantity":1}]}', claims: { sub: 'service-account' } }));
    expect(response.statusCode).toBe(403);
    expect(json((await api.handle(get('12345678901234567890', 2))).body)).toMatchObject({ error: { field: 'id' } });
  });
});

describe('write-through orders with Redis down', () => {
  let server: PostgresServer;
  let pool: Pool;
  let redisServer: RedisServer;
  let client: CacheClient;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, { products: 10, users: 3 }));
    redisServer = await RedisServer.start();
    client = await connectClient({ kind: 'standalone', server: redisServer, url: redisServer.url }, { commandTimeoutMs: 50 });
  });
  afterAll(async () => {
    client?.redis.disconnect();
    await redisServer?.stop();
    await pool?.end();
    await server?.stop();
  });

  test('still places the order (201, not cached) and the owner reads it from PostgreSQL', async () => {
    const api = buildWriteApi(pool, freshKeys({ kind: 'standalone', server: redisServer, url: redisServer.url }), client);
    await redisServer.kill();
    const response = await api.handle(post({ items: [{ productId: 2, quantity: 1 }] }));
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-cache']).toBe('not-cached');
    const order = json(response.body) as Order;
    const read = await api.handle(get(order.id, 2));
    expect(read.statusCode).toBe(200);
    expect(read.headers['x-cache']).toBe('origin');
    expect(json(read.body)).toEqual(order);
  });
});
