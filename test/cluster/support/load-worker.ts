/**
 * One API process under load (forked by ./load.ts, run by tsx): its own ioredis Cluster client
 * (built by the runtime's createRedis), its own L1, its own PostgreSQL pool, the API core
 * (createApi + createWriteRoutes) wired as lambda/api/runtime.ts wires it in development, and a
 * loop of mixed requests — product, list and user reads, product PUTs, profile PATCHes, tag and
 * pattern purges — until the parent says stop. It records every answer (status, latency, layer,
 * versions seen) and every acknowledged write and purge, and sends them to the parent to judge.
 *
 * The one piece that is not the development wiring is the invalidation publisher: in AWS a failed
 * purge is retried by the SQS queue until Redis answers, so here a failed purge is retried in the
 * background the same way (RetryingPublisher) instead of being dropped as the dev publisher does.
 */
import { Pool } from 'pg';
import { createApi } from '../../../lambda/shop/api/api';
import { createWriteRoutes } from '../../../lambda/shop/api/write-routes';
import { CacheClient, ReadThroughCache, TagIndex } from '../../../lambda/runtime/cache';
import { shopOrigin } from '../../../lambda/shop/api/read-bindings';
import { UserRepository } from '../../../lambda/shop/repositories';
import { categoryTag, productList, user } from '../../../lambda/shop/resources';
import { InvalidationRequest, LocalInvalidationPublisher } from '../../../lambda/runtime/invalidation/publisher';
import { RetryingPublisher } from './retrying-publisher';
import { CacheKeys } from '../../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS } from '../../../lambda/runtime/ttl';
import { refreshCachedProfiles } from '../../../lambda/shop/write-behind/cache-refresh';
import { LocalWriteBehindQueue } from '../../../lambda/shop/write-behind/local-queue';
import { ProfileSequencer } from '../../../lambda/shop/write-behind/profile-sequencer';
import type { LoadConfig, RouteKind, WorkerMessage, WorkerReport, PurgeRecord } from './protocol';
import { userSubject } from '../../../db/seed/seed';

const JSON_HEADERS = { 'content-type': 'application/json' };

type Event = Parameters<ReturnType<typeof createApi>>[0];

function event(method: string, path: string, options: { query?: string; claims?: Record<string, string>; body?: unknown } = {}): Event {
  const base = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: options.body === undefined ? { host: 'api.test' } : { host: 'api.test', ...JSON_HEADERS },
    requestContext: {
      accountId: '111122223333',
      apiId: 'load',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'load' },
      requestId: 'load',
      routeKey: '$default',
      stage: '$default',
      time: '30/Nov/2026:00:00:00 +0000',
      timeEpoch: 0,
      ...(options.claims ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: options.claims, scopes: [] } } } : {}),
    },
    isBase64Encoded: false,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  };
  return base as unknown as Event;
}

/**
 * Wall-clock milliseconds with sub-millisecond resolution: a read that starts in the same
 * millisecond as another loop's write acknowledgement must still be ordered before or after it.
 */
function now(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function run(config: LoadConfig): Promise<void> {
  const client = CacheClient.connect({ clusterNodes: config.startupNodes, commandTimeoutMs: config.commandTimeoutMs, connectTimeoutMs: config.connectTimeoutMs });
  await client.ready(30_000);
  const keys = new CacheKeys({ clusterMode: true });
  const pool = new Pool({ connectionString: config.databaseUrl, max: 4 });
  const ttls = DEFAULT_TTL_SECONDS;
  // WAIT 1 after tombstones, write-throughs and purges: an unplanned failover may otherwise lose an
  // acknowledged invalidation (docs/runtime.md, "What survives a failover").
  const replicaAcks = config.replicaAcks;
  const cache = new ReadThroughCache({ client, keys, ttls, replicaAcks, l1: { maxBytes: 16 * 1024 * 1024, ttlSeconds: config.l1TtlSeconds } });
  const personalCache = new ReadThroughCache({ client, keys, ttls, replicaAcks, l1: false });
  const tagIndex = new TagIndex(client, keys, { staleTtlSeconds: cache.staleTtlSeconds });
  const users = new UserRepository(pool);
  const purger = new LocalInvalidationPublisher({ redis: client.redis, cacheKeys: keys, replicaAcks });
  const publisher = new RetryingPublisher(purger);
  const queue = new LocalWriteBehindQueue({ db: pool, onUpdated: refreshCachedProfiles(personalCache, keys), flushIntervalMs: 200 });
  queue.start();
  const writes = createWriteRoutes({ db: pool, cache, personalCache, keys, users, tagIndex, publisher, profileQueue: queue, sequencer: new ProfileSequencer(client, keys) });
  const handle = createApi({
    cache,
    personalCache,
    tagIndex,
    writes,
    keys,
    ttls,
    origin: { ...shopOrigin(pool), users },
  });

  const report: WorkerReport = { worker: config.worker, requests: [], reads: [], writes: [], purges: [], retries: 0, originLoads: 0 };
  const client_ = `w${config.worker}`;
  const ownProducts = config.productIds.filter((id) => id % config.workers === config.worker);
  const ownUsers = config.userIds.filter((id) => id % config.workers === config.worker);
  const knownVersion = new Map<number, number>();
  let stopping = false;
  process.on('message', (message: WorkerMessage) => {
    if (message.type === 'stop') stopping = true;
  });

  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

  async function request(kind: RouteKind, ev: Event): Promise<{ status: number; body: unknown; source?: string; startedAt: number }> {
    const startedAt = now();
    let status: number;
    let text = '';
    let source: string | undefined;
    try {
      const response = await handle(ev);
      status = response.statusCode;
      text = response.body ?? '';
      source = (response.headers as Record<string, string> | undefined)?.['x-cache'];
    } catch {
      status = 599;
    }
    const ms = now() - startedAt;
    report.requests.push([startedAt, ms, status, kind, source ?? '']);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status, body, source, startedAt };
  }

  async function readProduct(): Promise<void> {
    const id = pick(config.productIds);
    const r = await request('product', event('GET', `/api/products/${id}`));
    if (r.status === 200) report.reads.push({ resource: `product:${id}`, version: (r.body as { version: number }).version, layer: r.source ?? '', client: client_, startedAt: r.startedAt });
  }

  async function readList(): Promise<void> {
    const category = pick(config.categories);
    const r = await request('list', event('GET', '/api/products', { query: `category=${category}` }));
    if (r.status !== 200) return;
    for (const item of (r.body as { items: { id: number; version: number }[] }).items) {
      report.reads.push({ resource: `product:${item.id}`, version: item.version, layer: r.source ?? '', client: `list-${client_}`, startedAt: r.startedAt, list: true });
    }
  }

  async function readUser(): Promise<void> {
    const id = Math.random() < 0.5 && ownUsers.length > 0 ? pick(ownUsers) : pick(config.userIds);
    const r = await request('user', event('GET', `/api/users/${id}`, { claims: { sub: userSubject(id) } }));
    if (r.status === 200) report.reads.push({ resource: `user:${id}`, version: (r.body as { version: number }).version, layer: r.source ?? '', client: ownUsers.includes(id) ? client_ : `reader-${client_}`, startedAt: r.startedAt });
  }

  async function writeProduct(): Promise<void> {
    const id = pick(ownProducts);
    let version = knownVersion.get(id);
    if (version === undefined) {
      const { rows } = await pool.query<{ version: string }>('select version from products where id = $1', [id]);
      version = Number(rows[0].version);
    }
    const { rows } = await pool.query<{ name: string; description: string; stock: number; slug: string }>(
      'select p.name, p.description, p.stock, c.slug from products p join categories c on c.id = p.category_id where p.id = $1',
      [id],
    );
    const body = { name: rows[0].name, description: rows[0].description, stock: rows[0].stock, category: rows[0].slug, priceCents: 100 + Math.floor(Math.random() * 10_000), version };
    const r = await request('put', event('PUT', `/api/products/${id}`, { claims: { sub: userSubject(1), scope: 'products:write' }, body }));
    if (r.status === 200) {
      const written = (r.body as { version: number }).version;
      knownVersion.set(id, written);
      const ackedAt = now();
      report.writes.push({ resource: `product:${id}`, version: written, client: client_, startedAt: r.startedAt, ackedAt, settledAt: ackedAt });
    } else if (r.status === 409) {
      knownVersion.delete(id);
    }
  }

  async function patchProfile(): Promise<void> {
    const id = pick(ownUsers);
    const r = await request('patch', event('PATCH', `/api/users/${id}/profile`, { claims: { sub: userSubject(id) }, body: { bio: `bio ${Math.random()}` } }));
    if (r.status === 200 || r.status === 202) {
      const ackedAt = now();
      report.writes.push({ resource: `user:${id}`, version: (r.body as { version: number }).version, client: client_, startedAt: r.startedAt, ackedAt, settledAt: ackedAt });
    }
  }

  async function purge(kind: 'tag' | 'pattern'): Promise<void> {
    const category = pick(config.categories);
    const invalidation: InvalidationRequest =
      kind === 'tag'
        ? { tags: [categoryTag(category)], reason: 'load: tag purge' }
        : { keyPatterns: [`${keys.prefix}{${productList.name}:${category}:*`], reason: 'load: pattern purge' };
    const record: PurgeRecord = { kind, category, startedAt: now(), ackedAt: 0, attempts: 0 };
    // The purge is acknowledged once the purge core finished it; until then it is retried, as the
    // purge queue redelivers a message whose purge failed.
    for (;;) {
      record.attempts += 1;
      try {
        await purger.publishInvalidation(invalidation);
        break;
      } catch {
        await sleep(100);
      }
    }
    record.ackedAt = now();
    report.purges.push(record);
  }

  // A pattern purge takes at least the fill window (its second pass waits out the lock TTL, 3 s): it
  // runs beside the loop, as a purge queue's consumer would, at most two at a time per process.
  const patternPurges = new Set<Promise<void>>();
  function purgeInBackground(): Promise<void> {
    if (patternPurges.size >= 2) return purge('tag');
    const running = purge('pattern').finally(() => patternPurges.delete(running));
    patternPurges.add(running);
    return Promise.resolve();
  }

  const mix: [number, () => Promise<void>][] = [
    [40, readProduct],
    [15, readList],
    [15, readUser],
    [12, writeProduct],
    [10, patchProfile],
    [4, () => purge('tag')],
    [4, purgeInBackground],
  ];
  const total = mix.reduce((sum, [weight]) => sum + weight, 0);

  async function loop(): Promise<void> {
    while (!stopping) {
      let draw = Math.random() * total;
      for (const [weight, action] of mix) {
        draw -= weight;
        if (draw < 0) {
          await action();
          break;
        }
      }
      if (config.pauseMs > 0) await sleep(config.pauseMs);
    }
  }

  process.send!({ type: 'ready' } satisfies WorkerMessage);
  await Promise.all(Array.from({ length: config.concurrency }, () => loop()));
  await Promise.all([...patternPurges]);
  await publisher.drain();
  await queue.stop();
  await cache.drain();
  await personalCache.drain();
  report.retries = publisher.retries;
  // A write whose purge had to be retried settled only when the retry succeeded.
  for (const write of report.writes) {
    const key = write.resource.startsWith('product:') ? keys.product(write.resource.slice('product:'.length)) : user.key(keys, { id: Number(write.resource.slice('user:'.length)) });
    for (const purge of publisher.retried) {
      if (purge.keys.includes(key) && purge.failedAt >= write.startedAt && purge.failedAt <= write.ackedAt) write.settledAt = Math.max(write.settledAt, purge.doneAt);
    }
  }
  report.originLoads = cache.stats().originLoads + personalCache.stats().originLoads;
  await client.quit();
  await pool.end();
  process.send!({ type: 'report', report } satisfies WorkerMessage, () => process.exit(0));
}

process.once('message', (message: WorkerMessage) => {
  if (message.type !== 'start') return;
  run(message.config).catch((error: unknown) => {
    process.send!({ type: 'crashed', error: String((error as Error)?.stack ?? error) } satisfies WorkerMessage, () => process.exit(1));
  });
});
