/**
 * The articles API: the three declared resources read through the pyramid (createResourceApi), and
 * one write, `POST /api/articles/{slug}/comments`, that purges every cached page of the article's
 * comments by tag, in Redis at once and at the edge through the invalidation pipeline.
 *
 * It imports `cache-pyramid/runtime` only, like any app built on the package, and reads the
 * environment `ResourceApi` sets as the shop's API does: the pool retries connecting within
 * `DB_CONNECT_RETRY_BUDGET_MS` (a resuming Aurora), then the API answers 503 with `Retry-After`;
 * `CACHE_L1_BUS` chooses how L1 learns of other instances' writes.
 */
import {
  ApiResponse,
  bindResource,
  CacheClient,
  CacheKeys,
  CacheLogger,
  connectL1Bus,
  createPool,
  createResourceApi,
  errorResponse,
  EventBridgeInvalidationPublisher,
  InvalidationBus,
  InvalidationPublisher,
  isStorableText,
  L1_BUS_ENV,
  L1BusConnection,
  OriginVerifier,
  parseBusMode,
  parseTtlTable,
  ReadThroughCache,
  resolveCacheConfig,
  resolveDbPoolConfig,
  ResourceEvent,
  responseForError,
  SecretReader,
  secretFromSecretsManager,
  TagIndex,
  TagInvalidation,
  toOriginError,
  toWriteError,
  TtlTable,
  uncachedResponse,
  ValidationError,
} from 'cache-pyramid/runtime';
import { article, Article, CommentPage, comments, COMMENTS_PER_PAGE, commentsTag, drafts, Drafts } from './resources';

/** What the core needs from PostgreSQL (a `pg` Pool fits). */
export interface Queryable {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface ArticlesApiDeps {
  readonly db: Queryable;
  readonly cacheClient: CacheClient;
  readonly keys: CacheKeys;
  readonly ttls: TtlTable;
  /** Checks `x-origin-verify`, so that only CloudFront reaches the API. @default - not checked (local runs, tests) */
  readonly originVerifier?: OriginVerifier;
  /** Purges CloudFront paths of what a write invalidated. @default - none: only Redis is purged */
  readonly publisher?: InvalidationPublisher;
  /** Tells other instances' L1 of this one's writes, and this one's of theirs. @default - none: their L1 copies live until the L1 TTL */
  readonly bus?: InvalidationBus;
  /** A purge that could not be done at once, and what happens instead, is logged here. @default - not logged */
  readonly logger?: Pick<CacheLogger, 'warn' | 'error'>;
}

export interface ArticlesApi {
  handle(event: ResourceEvent): Promise<ApiResponse>;
  /** Waits for background refreshes (tests, shutdown). */
  drain(): Promise<void>;
}

const COMMENT_PATH = /^\/api\/articles\/([a-z0-9-]{1,64})\/comments$/;
const MAX_COMMENT_CHARS = 2000;
/** `Retry-After` of a 503 when PostgreSQL cannot be reached (after the pool's own connection retries). */
const ORIGIN_RETRY_AFTER_SECONDS = 5;

export function createArticlesApi(deps: ArticlesApiDeps): ArticlesApi {
  const { cacheClient, keys, ttls } = deps;
  // PostgreSQL unreachable is a 503 with Retry-After (or the stale value where one is cached), not a 500.
  const db: Queryable = {
    query: (text, values) =>
      deps.db.query(text, values).catch((error: unknown) => {
        throw toOriginError(error, ORIGIN_RETRY_AFTER_SECONDS);
      }),
  };
  const cache = new ReadThroughCache({ client: cacheClient, keys, ttls, bus: deps.bus });
  // Drafts are one author's: read from Redis on every instance, never from a process's L1.
  const personalCache = new ReadThroughCache({ client: cacheClient, keys, ttls, l1: false });
  const tagIndex = new TagIndex(cacheClient, keys);

  const reads = createResourceApi({
    cache,
    personalCache,
    keys,
    ttls,
    tagIndex,
    bindings: [
      bindResource<Article>({
        resource: article,
        load: async (params) => {
          const { rows } = await db.query('SELECT slug, title, body, author, version FROM articles WHERE slug = $1 AND published', [params.slug]);
          return (rows[0] as unknown as Article | undefined) ?? null;
        },
      }),
      bindResource<CommentPage>({
        resource: comments,
        load: async (params) => {
          const page = Number(params.page);
          const exists = await db.query('SELECT 1 FROM articles WHERE slug = $1 AND published', [params.slug]);
          if (exists.rows.length === 0) return null;
          const { rows } = await db.query(
            `SELECT id::int AS id, author, text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt"
               FROM comments WHERE article_slug = $1 ORDER BY id LIMIT $2 OFFSET $3`,
            [params.slug, COMMENTS_PER_PAGE, (page - 1) * COMMENTS_PER_PAGE],
          );
          return { article: String(params.slug), page, comments: rows as unknown as CommentPage['comments'] };
        },
        notFoundMessage: (params) => `article ${params.slug} does not exist`,
      }),
      bindResource<Drafts>({
        resource: drafts,
        load: async (params) => {
          const { rows } = await db.query('SELECT slug, title, version FROM articles WHERE author = $1 AND NOT published ORDER BY slug', [params.author]);
          return { author: String(params.author), drafts: rows as unknown as Drafts['drafts'] };
        },
      }),
    ],
  });

  async function postComment(event: ResourceEvent, slug: string): Promise<ApiResponse> {
    const subject = 'authorizer' in event.requestContext ? event.requestContext.authorizer?.jwt?.claims?.sub : undefined;
    if (typeof subject !== 'string' || subject === '') return errorResponse(401, 'unauthorized', 'a signed-in reader is required', { method: 'POST' });
    const text = parseComment(event);
    const inserted = await deps.db
      .query(`INSERT INTO comments (article_slug, author, text) SELECT slug, $2, $3 FROM articles WHERE slug = $1 AND published RETURNING id::int AS id`, [slug, subject, text])
      .catch((error: unknown) => {
        throw toWriteError(error, ORIGIN_RETRY_AFTER_SECONDS, 'text');
      });
    if (inserted.rows.length === 0) return errorResponse(404, 'not_found', `article ${slug} does not exist`, { method: 'POST' });
    // The comment is stored: from here on nothing fails the request (it would invite a duplicate
    // comment); what cannot be purged now is handed to the invalidation pipeline, which retries.
    const tag = commentsTag(slug);
    let purged: TagInvalidation | undefined;
    try {
      // Every cached page of this article's comments carries the tag: the new comment shows on all of them.
      purged = await tagIndex.invalidate([tag]);
    } catch (error) {
      deps.logger?.warn('comment stored but its pages not purged from Redis; the purge pipeline retries', { tag, error: String(error) });
    }
    // Every L1 copy carrying the tag goes at once in this process (whether the tag set still named it
    // or not), in the others when the bus message arrives (CACHE_L1_BUS), else at their L1 TTL (docs/runtime.md).
    await cache.forgetTagged([tag], purged?.keys).catch((error: unknown) => deps.logger?.warn('comment pages purged from Redis but not announced to other instances; their L1 copies expire with the L1 TTL', { tag, error: String(error) }));
    // Without the tag set (not purged, or evicted) the cached pages are unknown: every page of the article's comments, at the edge.
    const firstPage = comments.canonicalUrl({ slug, page: 1 });
    const paths = purged && purged.unknownTags.length === 0 ? purged.cdnPaths : [...(purged?.cdnPaths ?? []), firstPage, `${firstPage}?*`];
    if (deps.publisher && (!purged || paths.length > 0)) {
      await deps.publisher
        .publishInvalidation({ paths, ...(purged ? {} : { tags: [tag] }), reason: `comment on ${slug}` })
        .catch((error: unknown) => deps.logger?.error('comment stored but the CacheInvalidation event not published; its pages live until their TTL', { tag, error: String(error) }));
    }
    return uncachedResponse(201, { id: inserted.rows[0].id, article: slug, purgedPaths: paths }, 'POST', {
      location: firstPage,
    });
  }

  return {
    async handle(event) {
      if (deps.originVerifier && !(await deps.originVerifier.verify(event.headers?.['x-origin-verify']))) {
        return errorResponse(403, 'forbidden', 'requests must come through CloudFront');
      }
      const method = event.requestContext.http.method;
      try {
        if (method === 'POST') {
          const slug = COMMENT_PATH.exec(event.rawPath)?.[1];
          if (slug !== undefined) return await postComment(event, slug);
        }
        const answer = await reads.handle(event);
        return answer ?? errorResponse(404, 'not_found', `no route for ${method} ${event.rawPath.slice(0, 128)}`, { method });
      } catch (error) {
        // 400 for a bad request, 503 with Retry-After for an unreachable origin; a bug stays an invocation error.
        const { response, unexpected } = responseForError(error, method);
        if (unexpected) throw error;
        return response;
      }
    },
    async drain() {
      await Promise.all([cache.drain(), personalCache.drain()]);
    },
  };
}

function parseComment(event: ResourceEvent): string {
  const type = event.headers?.['content-type'] ?? '';
  if (!type.startsWith('application/json')) throw new ValidationError('content-type', `the body must be application/json, got ${JSON.stringify(type.slice(0, 64))}`);
  let body: unknown;
  try {
    body = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? ''));
  } catch {
    throw new ValidationError('body', 'the body must be well-formed JSON');
  }
  const text = (body as { text?: unknown } | null)?.text;
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_COMMENT_CHARS || !isStorableText(text)) {
    throw new ValidationError('text', `text must be a non-empty string of at most ${MAX_COMMENT_CHARS} characters, without NUL or lone surrogates`);
  }
  return text;
}

/** How long a cold start waits for the cache connection (and the bus's subscription) before serving without them. */
const COLD_START_CACHE_WAIT_MS = 1000;

/** What {@link createArticlesRuntime} builds from an environment: the API and the clients it owns. */
export interface ArticlesRuntime {
  readonly api: ArticlesApi;
  /** The L1 bus `CACHE_L1_BUS` asks for (`bus` undefined when off). */
  readonly l1Bus: L1BusConnection;
  /** Call at the start of each invocation, before `api.handle`: with `CACHE_L1_BUS=sync` it applies what other instances published while this sandbox was frozen. */
  beforeInvocation(): Promise<void>;
  /** Closes the Redis connections and the pool (tests, shutdown). */
  close(): Promise<void>;
}

export interface ArticlesRuntimeOptions {
  /** The environment ResourceApi sets: `CACHE_*` (or `REDIS_URL`), `DB_*` (or `DATABASE_URL`), `DB_CONNECT_RETRY_BUDGET_MS`, `CACHE_TTLS`, `CACHE_L1_BUS`, `ORIGIN_VERIFY_SECRET_ARN`, `INVALIDATION_*`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the `*_SECRET_ARN` secrets. @default - Secrets Manager */
  readonly readSecret?: SecretReader;
}

/** Builds the API and its clients from `env`, once per sandbox (the Lambda handler) or per process. */
export async function createArticlesRuntime(options: ArticlesRuntimeOptions): Promise<ArticlesRuntime> {
  const { env } = options;
  const readSecret = options.readSecret ?? secretFromSecretsManager();
  const ttls = parseTtlTable(env.CACHE_TTLS);
  const busMode = parseBusMode(env[L1_BUS_ENV]);
  const originVerifier = env.ORIGIN_VERIFY_SECRET_ARN ? new OriginVerifier(() => readSecret(env.ORIGIN_VERIFY_SECRET_ARN!)) : undefined;
  const [cacheConfig, poolConfig] = await Promise.all([
    resolveCacheConfig(env, readSecret),
    // With DB_CONNECT_RETRY_BUDGET_MS, every checkout retries a database that is not accepting connections yet.
    resolveDbPoolConfig({ env, readSecret, applicationName: 'articles-api' }),
    originVerifier?.load(),
  ]);
  const cacheClient = CacheClient.connect(cacheConfig);
  const keys = new CacheKeys({ clusterMode: cacheClient.isCluster });
  const l1Bus = connectL1Bus(cacheClient, { mode: busMode, keys });
  const pool = createPool(poolConfig);
  const api = createArticlesApi({
    db: pool,
    cacheClient,
    keys,
    ttls,
    originVerifier,
    publisher: env.INVALIDATION_EVENT_BUS_NAME ? new EventBridgeInvalidationPublisher({ eventBusName: env.INVALIDATION_EVENT_BUS_NAME, source: env.INVALIDATION_SOURCE }) : undefined,
    bus: l1Bus.bus,
    logger: jsonConsoleLogger,
  });
  // Bounded: with Redis unreachable a cold start costs at most this much more.
  const coldStartDeadline = Date.now() + COLD_START_CACHE_WAIT_MS;
  await cacheClient.ready(COLD_START_CACHE_WAIT_MS);
  if (l1Bus.bus) await l1Bus.bus.subscribed(Math.max(1, coldStartDeadline - Date.now()));
  return {
    api,
    l1Bus,
    beforeInvocation: () => l1Bus.beforeInvocation(),
    close: async () => {
      await api.drain();
      await l1Bus.bus?.close();
      await Promise.all([cacheClient.quit(), pool.end()]);
    },
  };
}

/** One JSON line per message on stdout/stderr, which Lambda sends to the function's log group. */
const jsonConsoleLogger: Pick<CacheLogger, 'warn' | 'error'> = {
  warn: (message, attributes) => console.warn(JSON.stringify({ level: 'WARN', message, ...attributes })),
  error: (message, attributes) => console.error(JSON.stringify({ level: 'ERROR', message, ...attributes })),
};

/** Built once per sandbox from the environment ResourceApi sets. */
let runtime: Promise<ArticlesRuntime> | undefined;

export async function handler(event: ResourceEvent): Promise<ApiResponse> {
  runtime ??= createArticlesRuntime({ env: process.env }).catch((error: unknown) => {
    // A failed start (Secrets Manager throttled, a bad variable) is retried by the next invocation.
    runtime = undefined;
    throw error;
  });
  const articles = await runtime;
  await articles.beforeInvocation();
  return articles.api.handle(event);
}
