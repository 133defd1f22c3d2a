/**
 * The whole pyramid in one process, in virtual time, for the consistency harness:
 *
 *   clients ─► EdgeCacheModel (from the synthesized template) ─► one of N API instances (the shop's
 *   createApi + write routes, each with its own L1) ─► real Redis (either topology) ─► real PostgreSQL
 *   write ─► CacheInvalidation event ─► delivery (delays, out of order) ─► the Redis purger's core on
 *   real Redis (failing and retried after the queue's visibility timeout) ─► forwarded CDN purge
 *   (SQS DelaySeconds + batching window) ─► the CloudFront purger's core ─► the edge model.
 *
 * Time is virtual: every cache, the API and the edge read `clock.now`; operations run one at a time
 * and only `advance` moves time, running the pipeline's deliveries due meanwhile in time order. So a
 * history of minutes runs in milliseconds, and an interleaving is reproducible from its seed.
 *
 * `Ordering.PARALLEL` wires the pipeline as it was: the rule fed the CloudFront purger directly, in
 * parallel with the Redis purger, after its batching window.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { Pool } from 'pg';
import { CacheClient, DEFAULT_L1, ReadThroughCache, TagIndex } from '../../lambda/runtime/cache';
import { CacheUnavailableError } from '../../lambda/runtime/errors';
import { handleCdnPurgeBatch } from '../../lambda/runtime/invalidation/cdn-batch';
import type { InvalidationPublisher, InvalidationRequest } from '../../lambda/runtime/invalidation/publisher';
import { handleRedisPurgeRecord } from '../../lambda/runtime/invalidation/redis-batch';
import { CacheKeys } from '../../lambda/runtime/keys';
import { DEFAULT_TTL_SECONDS } from '../../lambda/runtime/ttl';
import { ApiHandler, createApi } from '../../lambda/shop/api/api';
import { createWriteRoutes } from '../../lambda/shop/api/write-routes';
import { shopOrigin } from '../../lambda/shop/api/read-bindings';
import { UserRepository } from '../../lambda/shop/repositories';
import { ProfileSequencer } from '../../lambda/shop/write-behind/profile-sequencer';
import { apiEvent } from '../lambda/api/support';
import { eventBridgeBody, sqsRecord } from '../lambda/runtime/invalidation/sqs-records';
import { NaiveTagIndex } from '../support/naive-tag-index';
import { ConsistencyChecker, Layer, layerOfXCache } from './checker';
import { EdgeCacheModel, OriginResponse } from './edge-model';
import { userSubject } from '../../db/seed/seed';

export enum Ordering {
  /** Origin → Redis → (L1 TTL + margin) → CDN: the Redis purger forwards the CDN purge. */
  BOTTOM_UP = 'bottom-up',
  /** The old wiring: one rule, both purgers in parallel, the CDN purge after its batching window. */
  PARALLEL = 'parallel',
}

/** The pipeline's timing, as the reference stack deploys it. */
export interface PipelineTiming {
  /** SQS DelaySeconds of a forwarded CDN purge (the Redis purger's CDN_PURGE_DELAY_SECONDS). */
  readonly cdnPurgeDelayMs: number;
  /** The CloudFront purger's event source batching window. */
  readonly cdnBatchWindowMs: number;
  /** The Redis purger's batching window. */
  readonly redisBatchWindowMs: number;
  /** A failed Redis purge record is received again after the queue's visibility timeout. */
  readonly redisVisibilityTimeoutMs: number;
}

type Json = Record<string, unknown>;

/** Reads the pipeline's timing from the synthesized reference stack. */
export function pipelineTimingFromTemplate(template: Template): PipelineTiming {
  const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Properties: Json }> }).Resources;
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const redisPurger = functions.find(([, r]) => (r.Properties.Environment as { Variables?: Json } | undefined)?.Variables?.CDN_PURGE_DELAY_SECONDS !== undefined);
  if (!redisPurger) throw new Error('no function with CDN_PURGE_DELAY_SECONDS: the Redis purger does not forward CDN purges');
  const variables = (redisPurger[1].Properties.Environment as { Variables: Json }).Variables;
  const cdnQueueId = (variables.CDN_PURGE_QUEUE_URL as { Ref: string }).Ref;
  const redisQueueId = (variables.PURGE_QUEUE_URL as { Ref: string }).Ref;
  const mapping = (queueId: string) =>
    Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.EventSourceArn).includes(`"${queueId}"`))!.Properties;
  return {
    cdnPurgeDelayMs: Number(variables.CDN_PURGE_DELAY_SECONDS) * 1000,
    cdnBatchWindowMs: Number(mapping(cdnQueueId).MaximumBatchingWindowInSeconds ?? 0) * 1000,
    redisBatchWindowMs: Number(mapping(redisQueueId).MaximumBatchingWindowInSeconds ?? 0) * 1000,
    redisVisibilityTimeoutMs: Number(resources[redisQueueId].Properties.VisibilityTimeout) * 1000,
  };
}

/** Virtual time: a clock and the deliveries scheduled on it. */
export class VirtualTime {
  now = Date.UTC(2026, 0, 1);
  private readonly due: { at: number; seq: number; run: () => Promise<void> }[] = [];
  private seq = 0;

  schedule(delayMs: number, run: () => Promise<void>): void {
    this.due.push({ at: this.now + Math.max(0, delayMs), seq: this.seq++, run });
  }

  /** Moves time forward by `ms`, running every delivery due meanwhile, in time order, at its time. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      this.due.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.due[0];
      if (!next || next.at > target) break;
      this.due.shift();
      this.now = Math.max(this.now, next.at);
      await next.run();
    }
    this.now = target;
  }

  /** Runs every delivery (and those they schedule) until none is left; returns the time it took. */
  async drain(): Promise<number> {
    const start = this.now;
    while (this.due.length > 0) {
      const last = Math.max(...this.due.map((d) => d.at));
      await this.advance(last - this.now);
    }
    return this.now - start;
  }

  get pending(): number {
    return this.due.length;
  }
}

/**
 * Faults of one instance's CacheClient: `down` fails every call as an unreachable Redis does;
 * `slowMs` delays every call (real time, below the command timeout) so that other requests run
 * between the write's steps.
 */
export class FaultSwitch {
  down = false;
  slowMs = 0;

  wrap(client: CacheClient): CacheClient {
    return new Proxy(client, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || property === 'constructor') return value;
        return async (...args: unknown[]) => {
          if (this.slowMs > 0) await new Promise((resolve) => setTimeout(resolve, this.slowMs));
          if (this.down) throw new CacheUnavailableError('injected: Redis is down for this instance');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }
}

/** Faults of one invalidation event. */
export interface EventFaults {
  /** Delay before the Redis purge queue delivers it (EventBridge + SQS + batching), ms. */
  readonly redisDeliveryMs: number;
  /** Delay before the CloudFront queue delivers it (PARALLEL ordering only), ms. */
  readonly cdnDeliveryMs: number;
  /** Receives on which the Redis purge fails before one succeeds. */
  readonly redisPurgeFailures: number;
}

interface PendingWrite {
  readonly resource: string;
  readonly version: number;
  readonly client: string;
  readonly ackedAt: number;
  readonly tombstoned: boolean;
  /** When the Redis purger finished the write's event (set by the pipeline). */
  purgedAt?: number;
}

export interface PyramidOptions {
  readonly pool: Pool;
  /** One connected CacheClient per API instance (their own connections). */
  readonly clients: readonly CacheClient[];
  /** A raw client for the Redis purger. */
  readonly purgerRedis: Redis | Cluster;
  readonly clusterMode: boolean;
  readonly template: Template;
  readonly ordering: Ordering;
  /** Namespace of this history's keys (fresh per history). */
  readonly namespace: string;
  /** Edge locations (POPs); client `n` uses location `n % edgeLocations`. @default 1 */
  readonly edgeLocations?: number;
  /** The tag index as it was before issue 20 (test/support/naive-tag-index.ts). @default false */
  readonly naiveTagIndex?: boolean;
}

export interface ReadResult {
  readonly status: number;
  readonly version: number;
  readonly layer: Layer;
}

/** An L1 copy expires this long after the entry was filled: the API's L1 TTL. */
export const L1_TTL_MS = DEFAULT_L1.ttlSeconds * 1000;

/** One history's pyramid: fresh keys, fresh L1s, a fresh edge, a fresh checker. */
export class Pyramid {
  readonly time = new VirtualTime();
  /** One edge location per client: CloudFront caches per POP, so a client near another POP misses there. */
  readonly edges: EdgeCacheModel[];
  readonly timing: PipelineTiming;
  readonly keys: CacheKeys;
  readonly faults: FaultSwitch[];
  readonly instances: ApiHandler[];
  private readonly writes: PendingWrite[] = [];
  private readonly reads: { resource: string; version: number; layer: Layer; client: string; startedAt: number }[] = [];
  private nextEventFaults: EventFaults = { redisDeliveryMs: 0, cdnDeliveryMs: 0, redisPurgeFailures: 0 };
  /** Published events, each linked to the write it invalidates once that write is acknowledged. */
  private readonly pendingEvents: { write?: PendingWrite; purgedAt?: number }[] = [];
  readonly deadLettered: string[] = [];

  constructor(private readonly options: PyramidOptions) {
    this.edges = Array.from({ length: options.edgeLocations ?? 1 }, () => EdgeCacheModel.fromTemplate(options.template));
    this.timing = pipelineTimingFromTemplate(options.template);
    this.keys = new CacheKeys({ namespace: options.namespace, clusterMode: options.clusterMode });
    this.faults = options.clients.map(() => new FaultSwitch());
    this.instances = options.clients.map((client, i) => this.instance(this.faults[i].wrap(client)));
  }

  /** The faults the next published event meets. */
  setEventFaults(faults: EventFaults): void {
    this.nextEventFaults = faults;
  }

  /** The edge location `client` (`c<n>@…`) reaches. */
  edgeOf(client: string): EdgeCacheModel {
    const n = Number(/^c(\d+)/.exec(client)?.[1] ?? 0);
    return this.edges[n % this.edges.length];
  }

  /** The first edge location (the only one by default). */
  get edge(): EdgeCacheModel {
    return this.edges[0];
  }

  /** GET /api/products/{id} by `client` through its edge location; misses go to API instance `instance`. */
  async readProduct(client: string, instance: number, id: number): Promise<ReadResult> {
    const startedAt = this.time.now;
    const path = `/api/products/${id}`;
    const response = await this.edgeOf(client).request({ method: 'GET', path }, this.time.now, () => this.origin(instance, apiEvent(path)));
    const version = response.statusCode === 200 ? Number((JSON.parse(response.body) as { version: number }).version) : 0;
    const layer = response.edge === 'hit' || response.edge === 'stale' ? Layer.EDGE : layerOfXCache(response.headers['x-cache']);
    if (layer === undefined) throw new Error(`answer without a known x-cache: ${JSON.stringify(response.headers)}`);
    this.reads.push({ resource: `product:${id}`, version, layer, client, startedAt });
    return { status: response.statusCode, version, layer };
  }

  /**
   * GET /api/products?category=… by `client` through its edge location; misses go to API instance
   * `instance`. The answer counts as one read of every product it lists, at the version it shows.
   */
  async readList(client: string, instance: number, category: string): Promise<{ status: number; layer: Layer; versions: Record<number, number> }> {
    const startedAt = this.time.now;
    const query = `category=${category}`;
    const response = await this.edgeOf(client).request({ method: 'GET', path: '/api/products', query }, this.time.now, () => this.origin(instance, apiEvent('/api/products', { query })));
    const layer = response.edge === 'hit' || response.edge === 'stale' ? Layer.EDGE : layerOfXCache(response.headers['x-cache']);
    if (layer === undefined) throw new Error(`answer without a known x-cache: ${JSON.stringify(response.headers)}`);
    const versions: Record<number, number> = {};
    if (response.statusCode === 200) {
      for (const item of (JSON.parse(response.body) as { items: { id: number; version: number }[] }).items) {
        versions[item.id] = item.version;
        this.reads.push({ resource: `product:${item.id}`, version: item.version, layer, client, startedAt });
      }
    }
    return { status: response.statusCode, layer, versions };
  }

  /**
   * PUT /api/products/{id} by `client` through API instance `instance` (the edge passes writes
   * through), changing the stock of the version PostgreSQL holds. With `redisDown`, the instance's
   * Redis fails for the whole write. Returns the status and the version written.
   */
  async writeProduct(
    client: string,
    instance: number,
    id: number,
    redisDown: boolean,
    options: { readonly redisSlowMs?: number; readonly alongside?: () => Promise<unknown> } = {},
  ): Promise<{ status: number; version?: number }> {
    const { rows } = await this.options.pool.query<Json>(
      'select p.name, p.description, p.price_cents, p.stock, p.version::int as version, c.slug from products p join categories c on c.id = p.category_id where p.id = $1',
      [id],
    );
    const r = rows[0];
    const body = JSON.stringify({ name: r.name, description: r.description, priceCents: r.price_cents, stock: (Number(r.stock) + 1) % 1000, category: r.slug, version: r.version });
    const event = apiEvent(`/api/products/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      claims: { sub: userSubject(1), scope: 'products:write' },
      body,
    });
    this.faults[instance].down = redisDown;
    this.faults[instance].slowMs = options.redisSlowMs ?? 0;
    let response: OriginResponse;
    try {
      // A request run alongside starts with the write, before its answer.
      [response] = await Promise.all([
        this.edgeOf(client).request({ method: 'PUT', path: `/api/products/${id}` }, this.time.now, () => this.origin(instance, event)),
        options.alongside?.(),
      ]);
    } finally {
      this.faults[instance].down = false;
      this.faults[instance].slowMs = 0;
    }
    // The answer arrives after the requests that started with it.
    await this.time.advance(1);
    if (response.statusCode !== 200) return { status: response.statusCode };
    const version = Number((JSON.parse(response.body) as { version: number }).version);
    const write: PendingWrite = { resource: `product:${id}`, version, client, ackedAt: this.time.now, tombstoned: !redisDown };
    this.writes.push(write);
    // The write's event was published before its answer: link it to the write it invalidates.
    for (const event of this.pendingEvents) {
      if (event.write) continue;
      event.write = write;
      // A purge delivered at once may have finished before the answer arrived.
      if (event.purgedAt !== undefined) write.purgedAt ??= event.purgedAt;
    }
    return { status: 200, version };
  }

  /** The history's answers and writes, judged against each write's documented bounds. */
  checker(): ConsistencyChecker {
    const checker = new ConsistencyChecker({ bounds: {} });
    for (const write of this.writes) {
      const purgedAfter = write.purgedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, write.purgedAt - write.ackedAt);
      const redis = write.tombstoned ? 0 : purgedAfter;
      checker.recordWrite({
        resource: write.resource,
        version: write.version,
        client: write.client,
        ackedAt: write.ackedAt,
        bounds: {
          [Layer.ORIGIN]: 0,
          [Layer.REDIS]: redis,
          [Layer.STALE]: redis,
          [Layer.L1]: redis + L1_TTL_MS,
          [Layer.EDGE]: purgedAfter + this.timing.cdnPurgeDelayMs + this.timing.cdnBatchWindowMs,
        },
      });
    }
    for (const read of this.reads) checker.recordRead(read);
    return checker;
  }

  private async origin(instance: number, event: ReturnType<typeof apiEvent>): Promise<OriginResponse> {
    const response = await this.instances[instance](event);
    return { statusCode: response.statusCode, headers: response.headers as Record<string, string>, body: response.body ?? '' };
  }

  private instance(client: CacheClient): ApiHandler {
    const { pool } = this.options;
    const keys = this.keys;
    const clock = () => this.time.now;
    const cache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, clock, earlyRefreshBeta: 0 });
    const personalCache = new ReadThroughCache({ client, keys, ttls: DEFAULT_TTL_SECONDS, clock, earlyRefreshBeta: 0, l1: false });
    const tagIndex = this.options.naiveTagIndex
      ? new NaiveTagIndex(client, keys, { staleTtlSeconds: cache.staleTtlSeconds })
      : new TagIndex(client, keys, { staleTtlSeconds: cache.staleTtlSeconds });
    const users = new UserRepository(pool);
    const writes = createWriteRoutes({
      db: pool,
      cache,
      personalCache,
      keys,
      users,
      tagIndex,
      publisher: this.publisher(),
      profileQueue: { enqueue: async () => Promise.reject(new Error('profiles are not part of these histories')) },
      sequencer: new ProfileSequencer(client, keys),
      clock,
    });
    return createApi({ cache, personalCache, tagIndex, writes, keys, ttls: DEFAULT_TTL_SECONDS, clock, origin: { ...shopOrigin(pool), users } });
  }

  /** The API's publisher: each event goes where the rule of the current ordering sends it. */
  private publisher(): InvalidationPublisher {
    return {
      publishInvalidation: async (request: InvalidationRequest) => {
        const body = eventBridgeBody('CacheInvalidation', request);
        const faults = this.nextEventFaults;
        const link: { write?: PendingWrite; purgedAt?: number } = {};
        this.pendingEvents.push(link);
        let receives = 0;
        const redisPurge = async (): Promise<void> => {
          receives += 1;
          const failing = receives <= faults.redisPurgeFailures;
          try {
            await handleRedisPurgeRecord(sqsRecord(body, { receiveCount: receives }), {
              redis: async () => {
                if (failing) throw new Error('injected: the Redis purger cannot reach Redis');
                return this.options.purgerRedis;
              },
              cacheKeys: this.keys,
              deadLetter: { send: async (_record, reason) => void this.deadLettered.push(reason) },
              continue: async () => Promise.reject(new Error('no pattern scans in these histories')),
              forwardCdnPurge:
                this.options.ordering === Ordering.BOTTOM_UP
                  ? async (message) => this.time.schedule(this.timing.cdnPurgeDelayMs + this.timing.cdnBatchWindowMs, () => this.cdnPurge(JSON.stringify(message)))
                  : undefined,
              now: () => this.time.now,
              deadline: Number.POSITIVE_INFINITY,
              maxReceiveCount: 5,
            });
          } catch {
            // Back to the queue: received again once its visibility timeout has passed.
            this.time.schedule(this.timing.redisVisibilityTimeoutMs, redisPurge);
            return;
          }
          link.purgedAt ??= this.time.now;
          if (link.write && link.write.purgedAt === undefined) link.write.purgedAt = this.time.now;
        };
        this.time.schedule(faults.redisDeliveryMs, redisPurge);
        if (this.options.ordering === Ordering.PARALLEL) {
          this.time.schedule(faults.cdnDeliveryMs + this.timing.cdnBatchWindowMs, () => this.cdnPurge(body));
        }
      },
      publishDomainEvent: async () => undefined,
    };
  }

  private async cdnPurge(body: string): Promise<void> {
    const outcome = await handleCdnPurgeBatch([sqsRecord(body)], {
      cloudFront: {
        send: async (command: CreateInvalidationCommand) => {
          // An invalidation reaches every edge location.
          for (const edge of this.edges) edge.invalidate(command.input.InvalidationBatch?.Paths?.Items ?? []);
          return { Invalidation: { Id: `I${this.time.now}` } };
        },
      } as never,
      distributionId: 'EDGE',
      deadLetter: { send: async (_record, reason) => void this.deadLettered.push(reason) },
      maxReceiveCount: 5,
      keyPrefix: this.keys.prefix,
      sleep: async () => undefined,
      random: () => 0,
      now: () => this.time.now,
      deadline: Number.POSITIVE_INFINITY,
    });
    if (outcome.batchItemFailures.length > 0) throw new Error('the CloudFront purge failed in the model');
  }
}
