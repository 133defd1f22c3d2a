/**
 * Many clients on several API instances at once (issue 20, part 3): each instance is the shop's
 * createApi + write routes with its own L1 and its own connection(s) to real Redis (either topology),
 * optionally its own L1 bus, over one real PostgreSQL. Clients run concurrently in real time: no
 * virtual clock, so fills, purges and reads interleave as the servers and the event loop order them.
 * Every answer a client gets is recorded with when its request started (`performance.now()`), every
 * write with when its 2xx arrived; `checker()` judges each read that started after a write's 2xx
 * against that layer's bound. The edge is not modelled here (the pyramid harness does it).
 *
 * A list page read counts as one read of every product it shows, at the version it shows.
 */
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { CacheClient, InvalidationBus, ReadThroughCache, TagIndex } from '../../lambda/runtime/cache';
import { CacheKeys } from '../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS } from '../../lambda/runtime/ttl';
import { ApiHandler, createApi } from '../../lambda/shop/api/api';
import { shopOrigin } from '../../lambda/shop/api/read-bindings';
import { createWriteRoutes } from '../../lambda/shop/api/write-routes';
import type { ProductPage } from '../../lambda/shop/repositories';
import { UserRepository } from '../../lambda/shop/repositories';
import { ProfileSequencer } from '../../lambda/shop/write-behind/profile-sequencer';
import { apiEvent } from '../lambda/api/support';
import { NaiveTagIndex } from '../support/naive-tag-index';
import { ConsistencyChecker, Layer, layerOfXCache } from './checker';
import { L1_TTL_MS } from './pyramid';

export interface FleetOptions {
  readonly pool: Pool;
  /** One connected CacheClient per instance. */
  readonly clients: readonly CacheClient[];
  readonly clusterMode: boolean;
  readonly namespace: string;
  /** Each instance subscribes to the L1 bus (false: the Lambda default). */
  readonly bus: boolean;
  /** The tag index as it was before issue 20. @default false */
  readonly naive?: boolean;
  /**
   * Each Redis call of an instance waits a random 0…`jitterMs` ms first (real time): a network whose
   * latency varies, so that two commands sent together may arrive apart. @default 0
   */
  readonly jitterMs?: number;
  /** [0, 1), for the jitter. */
  readonly random: () => number;
}

/** The bound of another instance's L1 with the bus on: docs/runtime.md (delivery, or the fallback TTL after a lost subscription). */
export const BUS_L1_BOUND_MS = 2_000;

interface Instance {
  readonly api: ApiHandler;
  readonly bus?: InvalidationBus;
}

export class Fleet {
  readonly keys: CacheKeys;
  private readonly instances: Instance[] = [];
  private readonly writes: { resource: string; version: number; client: string; ackedAt: number }[] = [];
  private readonly reads: { resource: string; version: number; layer: Layer; client: string; startedAt: number }[] = [];
  /** Writes refused because another client's write of the same product won (409). */
  conflicts = 0;

  private constructor(private readonly options: FleetOptions) {
    this.keys = new CacheKeys({ namespace: options.namespace, clusterMode: options.clusterMode });
  }

  static async start(options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    for (const client of options.clients) fleet.instances.push(await fleet.instance(fleet.jittered(client)));
    return fleet;
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.bus?.close()));
  }

  /** GET /api/products?category=… on `instance` by client `i<instance>`. */
  async readList(instance: number, category: string): Promise<void> {
    const startedAt = performance.now();
    const response = await this.instances[instance].api(apiEvent('/api/products', { query: `category=${category}` }));
    if (response.statusCode !== 200) throw new Error(`list answered ${response.statusCode}: ${response.body}`);
    const layer = layerOfXCache((response.headers as Record<string, string>)['x-cache'])!;
    for (const item of (JSON.parse(response.body!) as ProductPage).items) {
      this.reads.push({ resource: `product:${item.id}`, version: item.version, layer, client: `i${instance}`, startedAt });
    }
  }

  /** PUT /api/products/{id} on `instance` (the stock changes); a 409 (another write won) is counted, not recorded. */
  async write(instance: number, id: number): Promise<void> {
    const { rows } = await this.options.pool.query<Record<string, unknown>>(
      'select p.name, p.description, p.price_cents, p.stock, p.version::int as version, c.slug from products p join categories c on c.id = p.category_id where p.id = $1',
      [id],
    );
    const r = rows[0];
    const body = JSON.stringify({ name: r.name, description: r.description, priceCents: r.price_cents, stock: (Number(r.stock) + 1) % 1000, category: r.slug, version: r.version });
    const response = await this.instances[instance].api(
      apiEvent(`/api/products/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, claims: { sub: '1', scope: 'products:write' }, body }),
    );
    const ackedAt = performance.now();
    if (response.statusCode === 409) {
      this.conflicts += 1;
      return;
    }
    if (response.statusCode !== 200) throw new Error(`write answered ${response.statusCode}: ${response.body}`);
    this.writes.push({ resource: `product:${id}`, version: Number((JSON.parse(response.body!) as { version: number }).version), client: `i${instance}`, ackedAt });
  }

  /**
   * The history judged: Redis, stale and origin answers never older than an acknowledged write; the
   * writing instance reads its own write from every layer (read your writes); another instance's L1
   * lags at most the bus bound (bus on) or the L1 TTL (bus off).
   */
  checker(): ConsistencyChecker {
    const checker = new ConsistencyChecker({
      bounds: { [Layer.ORIGIN]: 0, [Layer.REDIS]: 0, [Layer.STALE]: 0, [Layer.L1]: this.options.bus ? BUS_L1_BOUND_MS : L1_TTL_MS },
      readYourWritesExempt: [],
    });
    for (const write of this.writes) checker.recordWrite(write);
    for (const read of this.reads) checker.recordRead(read);
    return checker;
  }

  get writeCount(): number {
    return this.writes.length;
  }

  /** Per layer, the longest time after a write's 2xx an older version was served from it by another instance (ms). */
  otherInstanceLagMs(layer: Layer): number {
    let worst = 0;
    for (const read of this.reads) {
      if (read.layer !== layer) continue;
      for (const write of this.writes) {
        if (write.resource !== read.resource || write.version <= read.version || write.client === read.client) continue;
        worst = Math.max(worst, read.startedAt - write.ackedAt);
      }
    }
    return worst;
  }

  private jittered(client: CacheClient): CacheClient {
    const jitterMs = this.options.jitterMs ?? 0;
    if (jitterMs === 0) return client;
    const random = this.options.random;
    return new Proxy(client, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || property === 'constructor' || property === 'quit') return value;
        return async (...args: unknown[]) => {
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * (jitterMs + 1))));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  private async instance(client: CacheClient): Promise<Instance> {
    const { pool } = this.options;
    const keys = this.keys;
    const bus = this.options.bus ? InvalidationBus.connect(client, { channel: InvalidationBus.channelFor(keys) }) : undefined;
    if (bus) await waitForSubscription(bus);
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0, ...(bus ? { bus } : {}) });
    const personalCache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, earlyRefreshBeta: 0, l1: false });
    const tagIndex = this.options.naive ? new NaiveTagIndex(client, keys, { staleTtlSeconds: cache.staleTtlSeconds }) : new TagIndex(client, keys, { staleTtlSeconds: cache.staleTtlSeconds });
    const writes = createWriteRoutes({
      db: pool,
      cache,
      personalCache,
      keys,
      users: new UserRepository(pool),
      tagIndex,
      publisher: { publishInvalidation: async () => undefined, publishDomainEvent: async () => undefined },
      profileQueue: { enqueue: async () => Promise.reject(new Error('profiles are not part of these histories')) },
      sequencer: new ProfileSequencer(client, keys),
    });
    return { api: createApi({ cache, personalCache, tagIndex, writes, keys, ttls: DEFAULT_TTL_SECONDS, origin: { ...shopOrigin(pool), users: new UserRepository(pool) } }), bus };
  }
}

async function waitForSubscription(bus: InvalidationBus): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (bus.state !== 'subscribed') {
    if (Date.now() > deadline) throw new Error('the L1 bus did not subscribe in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A small seeded PRNG (mulberry32), so a history's choices repeat from its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
