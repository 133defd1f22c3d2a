/**
 * The articles API: the three declared resources read through the pyramid, and one write,
 * `POST /api/articles/{slug}/comments`, that purges every cached page of the article's comments by
 * tag, in Redis at once and at the edge through the invalidation pipeline.
 *
 * It imports `cache-pyramid/runtime` only, like any app built on the package. `createPyramidRuntime`
 * wires everything from the environment `ResourceApi` sets (docs/runtime.md): the pool retries
 * connecting within `DB_CONNECT_RETRY_BUDGET_MS` (a resuming Aurora), then the API answers 503 with
 * `Retry-After`; `CACHE_L1_BUS` chooses how L1 learns of other instances' writes; `x-origin-verify`
 * is checked against `ORIGIN_VERIFY_SECRET_ARN`; `INVALIDATION_EVENT_BUS_NAME` gives the publisher.
 */
import {
  ApiResponse,
  bindResource,
  CacheLogger,
  createPyramidRuntime,
  errorResponse,
  InvalidationPublisher,
  isStorableText,
  PyramidClients,
  PyramidDb,
  PyramidHandler,
  PyramidRuntime,
  ReadThroughCache,
  ResourceBinding,
  ResourceEvent,
  responseForError,
  TagIndex,
  TagInvalidation,
  toOriginError,
  toWriteError,
  uncachedResponse,
  ValidationError,
  createResourceApi,
} from 'cache-pyramid/runtime';
import { article, Article, CommentPage, comments, COMMENTS_PER_PAGE, commentsTag, drafts, Drafts } from './resources';

/** What the core needs from PostgreSQL (the runtime's `db`, or a `pg` Pool). */
export type Queryable = Pick<PyramidDb, 'query'>;

/** The clients the API runs on: what `createPyramidRuntime` builds from the environment (`PyramidClients`), or a test's own. */
export interface ArticlesApiDeps extends Pick<PyramidClients, 'keys' | 'ttls'> {
  readonly db: Queryable;
  /** Public values: L1 + Redis (L1 told of other instances' writes by the bus it was built with). */
  readonly cache: ReadThroughCache;
  /** Drafts: Redis only, never a process's L1. */
  readonly personalCache: ReadThroughCache;
  readonly tagIndex: TagIndex;
  /** Purges CloudFront paths of what a write invalidated. @default - none: only Redis is purged */
  readonly publisher?: InvalidationPublisher;
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

/** PostgreSQL unreachable is a 503 with Retry-After (or the stale value where one is cached), not a 500. */
function originErrorsMapped(db: Queryable): Queryable {
  return {
    query: (text, values) =>
      db.query(text, values).catch((error: unknown) => {
        throw toOriginError(error, ORIGIN_RETRY_AFTER_SECONDS);
      }),
  } as Queryable;
}

/** The three resources with their loaders, reading `db`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each binding keeps its own value type
export function articlesBindings(origin: Queryable): ResourceBinding<any>[] {
  const db = originErrorsMapped(origin);
  return [
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
      lastPage: async (params) => {
        const { rows } = await db.query('SELECT (SELECT count(*) FROM comments WHERE article_slug = a.slug) AS n FROM articles a WHERE slug = $1 AND published', [params.slug]);
        if (rows.length === 0) return null;
        return Math.max(1, Math.ceil(Number((rows[0] as { n: string }).n) / COMMENTS_PER_PAGE));
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
  ];
}

/**
 * `POST /api/articles/{slug}/comments`: stores the comment, then purges its pages by tag (Redis, this
 * process's L1, the other instances' L1 through the bus, the edge through the publisher). Any other
 * request resolves `undefined`, for the resources to answer.
 */
export function commentRoute(deps: ArticlesApiDeps): (event: ResourceEvent) => Promise<ApiResponse | undefined> {
  const { cache, tagIndex } = deps;
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

  return async (event) => {
    if (event.requestContext.http.method !== 'POST') return undefined;
    const slug = COMMENT_PATH.exec(event.rawPath)?.[1];
    return slug === undefined ? undefined : postComment(event, slug);
  };
}

/**
 * The whole API over `deps`, as `runtime.handler` composes it (the comment route, then the
 * resources, then 404; typed errors answered), without the origin check: for tests that bring their
 * own clients.
 */
export function createArticlesApi(deps: ArticlesApiDeps): ArticlesApi {
  const comment = commentRoute(deps);
  const reads = createResourceApi({ bindings: articlesBindings(deps.db), cache: deps.cache, personalCache: deps.personalCache, tagIndex: deps.tagIndex, keys: deps.keys, ttls: deps.ttls });
  return {
    async handle(event) {
      const method = event.requestContext.http.method;
      try {
        const answer = (await comment(event)) ?? (await reads.handle(event));
        return answer ?? errorResponse(404, 'not_found', `no route for ${method} ${event.rawPath.slice(0, 128)}`, { method });
      } catch (error) {
        const { response, unexpected } = responseForError(error, method);
        if (unexpected) throw error;
        return response;
      }
    },
    async drain() {
      await Promise.all([deps.cache.drain(), deps.personalCache.drain()]);
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

/** The API on a runtime: the origin check, the comment route, the three resources, then 404. */
export function articlesHandler(runtime: PyramidRuntime): PyramidHandler {
  return runtime.handler({ bindings: articlesBindings(runtime.db), routes: (clients) => commentRoute(clients) });
}

/** Built once per sandbox, at module scope, from the environment ResourceApi sets; it connects at the first invocation. */
export const handler = articlesHandler(createPyramidRuntime({ applicationName: 'articles-api' }));
