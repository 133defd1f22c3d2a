/**
 * The identity a deployed stage really issues, end to end over HTTP: a token shaped like a Cognito
 * access token (a UUID `sub`, the user pool's issuer, the app client as audience) against the API
 * run by `npm run dev` configured with that issuer and audience (HS256 stands in for the pool's
 * keys), over real Redis and PostgreSQL seeded with users linked to their subjects.
 */
import { ChildProcess } from 'node:child_process';
import { userSubject } from '../../db/seed/seed';
import { signDevToken } from '../../scripts/dev-auth';
import { seededDatabase } from '../lambda/runtime/db/support';
import { killDevServer, startDevServer } from '../support/dev-server';
import { PostgresServer, RedisServer } from '../support/servers';

const COGNITO = {
  secret: 'cognito-shaped-test-secret-0123456789abcdef',
  issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI',
  audience: '5k3v2example0clientid0abcd',
};

describe('a Cognito-shaped token (UUID sub) through the API', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let dev: ChildProcess;
  let base: string;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([PostgresServer.start(), RedisServer.start()]);
    const seeded = await seededDatabase(pg, { products: 10, users: 5 });
    await seeded.pool.end();
    ({ child: dev, base } = await startDevServer({ REDIS_URL: redis.url, DATABASE_URL: seeded.url, JWT_SECRET: COGNITO.secret, JWT_ISSUER: COGNITO.issuer, JWT_AUDIENCE: COGNITO.audience }));
  });

  afterAll(async () => {
    await killDevServer(dev);
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  const bearer = async (sub: string) => ({ authorization: `Bearer ${await signDevToken(COGNITO, { sub })}` });

  test('reads its own profile and orders (200) and no one else’s (404)', async () => {
    const alice = await bearer(userSubject(2));
    const bob = await bearer(userSubject(3));

    const profile = await fetch(`${base}/api/users/2`, { headers: alice });
    expect(profile.status).toBe(200);
    expect(await profile.json()).toMatchObject({ id: 2 });
    const me = await fetch(`${base}/api/users/me`, { headers: alice, redirect: 'manual' });
    expect(me.status).toBe(303);
    expect(me.headers.get('location')).toBe('/api/users/2');
    expect(me.headers.get('cache-control')).toBe('private, no-store');
    await me.arrayBuffer();

    const placed = await fetch(`${base}/api/orders`, { method: 'POST', headers: { ...alice, 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ productId: 1, quantity: 1 }] }) });
    expect(placed.status).toBe(201);
    const order = (await placed.json()) as { id: number; userId: number };
    expect(order.userId).toBe(2);
    const own = await fetch(`${base}/api/orders/${order.id}`, { headers: alice });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ id: order.id, userId: 2 });

    for (const url of [`/api/users/3`, `/api/orders/${order.id}`]) {
      const foreign = await fetch(`${base}${url}`, { headers: url.includes('orders') ? bob : alice });
      expect(foreign.status).toBe(404);
      await foreign.arrayBuffer();
    }
  });

  test('a signed-in subject linked to no user reads nothing (404) and may not write (403)', async () => {
    const stranger = await bearer('0b5e1f3a-9c7d-4e2b-8a6f-1d2c3b4a5e6f');
    const profile = await fetch(`${base}/api/users/2`, { headers: stranger });
    expect(profile.status).toBe(404);
    await profile.arrayBuffer();
    const me = await fetch(`${base}/api/users/me`, { headers: stranger, redirect: 'manual' });
    expect(me.status).toBe(404);
    await me.arrayBuffer();
    const order = await fetch(`${base}/api/orders`, { method: 'POST', headers: { ...stranger, 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ productId: 1, quantity: 1 }] }) });
    expect(order.status).toBe(403);
    await order.arrayBuffer();
  });
});
