/**
 * The articles API: the three declared resources read through the pyramid (createResourceApi), and
 * one write, `POST /api/articles/{slug}/comments`, that purges every cached page of the article's
 * comments by tag, in Redis at once and at the edge through the invalidation pipeline.
 *
 * It imports `cache-pyramid/runtime` only, like any app built on the package.
 */
import {
  ApiResponse,
  bindResource,
  CacheClient,
  CacheKeys,
  createPool,
  createResourceApi,
  errorResponse,
  EventBridgeInvalidationPublisher,
  InvalidationPublisher,
  OriginVerifier,
  parseTtlTable,
  ReadThroughCache,
  resolveCacheConfig,
  resolveDbPoolConfig,
  ResourceEvent,
  secretFromSecretsManager,
  TagIndex,
  TtlTable,
  uncachedResponse,
  ValidationError,
} from 'cache-pyramid/runtime';
import { article, Article, CommentPage, comments, COMMENTS_PER_PAGE, drafts, Drafts } from './resources';

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
}

export interface ArticlesApi {
  handle(event: ResourceEvent): Promise<ApiResponse>;
  /** Waits for background refreshes (tests, shutdown). */
  drain(): Promise<void>;
}

const COMMENT_PATH = /^\/api\/articles\/([a-z0-9-]{1,64})\/comments$/;
const MAX_COMMENT_CHARS = 2000;
/** PostgreSQL refuses text with a lone UTF-16 surrogate; it is a 400 before anything is written. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function createArticlesApi(deps: ArticlesApiDeps): ArticlesApi {
  const { db, cacheClient, keys, ttls } = deps;
  const cache = new ReadThroughCache({ client: cacheClient, keys, ttls });
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
    const inserted = await db.query(
      `INSERT INTO comments (article_slug, author, text) SELECT slug, $2, $3 FROM articles WHERE slug = $1 AND published RETURNING id::int AS id`,
      [slug, subject, text],
    );
    if (inserted.rows.length === 0) return errorResponse(404, 'not_found', `article ${slug} does not exist`, { method: 'POST' });
    // Every cached page of this article's comments carries the tag: the new comment shows on all of them.
    const purged = await tagIndex.invalidate([`comments:${slug}`]);
    // L1 does not know tags: this process drops its copies at once, other instances at their L1 TTL
    // (at most 60 s), or at once with the runtime's invalidation bus (docs/runtime.md).
    cache.clearLocal();
    if (deps.publisher && purged.cdnPaths.length > 0) {
      await deps.publisher.publishInvalidation({ paths: purged.cdnPaths, reason: `comment on ${slug}` });
    }
    return uncachedResponse(201, { id: inserted.rows[0].id, article: slug, purgedPaths: purged.cdnPaths }, 'POST', {
      location: `${comments.canonicalUrl({ slug, page: 1 })}`,
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
        if (error instanceof ValidationError) return errorResponse(400, 'invalid_request', error.message, { field: error.field, method });
        throw error;
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
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_COMMENT_CHARS || text.includes('\u0000') || LONE_SURROGATE.test(text)) {
    throw new ValidationError('text', `text must be a non-empty string of at most ${MAX_COMMENT_CHARS} characters, without NUL or lone surrogates`);
  }
  return text;
}

/** Built once per sandbox from the environment ResourceApi sets (CACHE_*, DB_*, CACHE_TTLS, ORIGIN_VERIFY_SECRET_ARN). */
let api: Promise<ArticlesApi> | undefined;

async function fromEnvironment(env: NodeJS.ProcessEnv): Promise<ArticlesApi> {
  const readSecret = secretFromSecretsManager();
  const [cacheConfig, poolConfig] = await Promise.all([
    resolveCacheConfig(env, readSecret),
    resolveDbPoolConfig({ env, readSecret, applicationName: 'articles-api' }),
  ]);
  const cacheClient = CacheClient.connect(cacheConfig);
  const originVerifier = env.ORIGIN_VERIFY_SECRET_ARN ? new OriginVerifier(() => readSecret(env.ORIGIN_VERIFY_SECRET_ARN!)) : undefined;
  await originVerifier?.load();
  return createArticlesApi({
    db: createPool(poolConfig),
    cacheClient,
    keys: new CacheKeys({ clusterMode: cacheClient.isCluster }),
    ttls: parseTtlTable(env.CACHE_TTLS),
    originVerifier,
    publisher: env.INVALIDATION_EVENT_BUS_NAME ? new EventBridgeInvalidationPublisher({ eventBusName: env.INVALIDATION_EVENT_BUS_NAME, source: env.INVALIDATION_SOURCE }) : undefined,
  });
}

export async function handler(event: ResourceEvent): Promise<ApiResponse> {
  api ??= fromEnvironment(process.env).catch((error: unknown) => {
    // A failed start (Secrets Manager throttled, a bad variable) is retried by the next invocation.
    api = undefined;
    throw error;
  });
  return (await api).handle(event);
}
