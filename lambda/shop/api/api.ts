/**
 * The API core: turns an API Gateway HTTP API (payload v2) event into a response, reading through
 * the application cache to the origin. It takes every dependency as an argument and never reads the
 * environment; `lambda/api/index.ts` wires the real clients, the dev server and the tests wire theirs.
 *
 * Per request: origin lock (x-origin-verify) → size limits → method → route → query → the route.
 * Every response says where the entity came from in `x-cache: l1|redis|origin|stale`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { subjectOf } from '../../runtime/auth/claims';
import type { CacheLogger, CacheRead, Loaded, ReadOptions } from '../../runtime/cache';
import type { AppConfig, Product, ProductPage, UserSummary } from '../repositories';
import { ForbiddenError, OriginUnavailableError } from '../../runtime/errors';
import type { CacheKeys } from '../../runtime/keys';
import { TtlClass, TtlTable } from '../../runtime/ttl';
import { Cacheability, carriesCredentials, DEFAULT_STALE_WINDOWS, remainingFreshnessSeconds, StaleWindows } from '../../runtime/http/cache-control';
import { ORIGIN_VERIFY_HEADER, OriginVerifier } from '../../runtime/http/origin-verify';
import { checkRequestSize, headerValue, parseCategory, parseId, parsePage, parseQuery } from '../../runtime/http/request';
import { ApiResponse, entityResponse, errorResponse, responseForError, uncachedResponse } from '../../runtime/http/response';
import { ProductListTags, trackedListLoader } from '../write-path/list-tags';
import { ALLOWED_METHODS, matchRoute, RouteMatch, RouteName } from './routes';
import { matchWriteRoute, methodNotAllowed, WriteRouteHandler } from './write-routes';

/** The event as API Gateway delivers it: with JWT claims on authorized routes, without on the others. */
export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2;

/** The read path the API needs from the cache (`ReadThroughCache` fits). */
export interface ApiCache {
  get<T>(key: string, ttlClass: TtlClass, load: () => Promise<Loaded<T>>, options?: ReadOptions): Promise<CacheRead<T>>;
}

/** The origin reads the API needs (the repositories of `../db` fit; tests may wrap them to count). */
export interface ApiOrigin {
  readonly products: {
    findById(id: number): Promise<Product | null>;
    listPage(category: string | undefined, page: number): Promise<ProductPage | null>;
  };
  readonly users: { findSummary(id: number): Promise<UserSummary | null> };
  readonly config: { load(): Promise<AppConfig> };
}

export interface ApiDependencies {
  readonly cache: ApiCache;
  readonly keys: CacheKeys;
  readonly origin: ApiOrigin;
  /** The TTL table the cache uses; public `max-age` is derived from it. */
  readonly ttls: TtlTable;
  /** Stale windows granted to CDNs and browsers on public responses. @default DEFAULT_STALE_WINDOWS */
  readonly staleWindows?: StaleWindows;
  /** The origin lock; without it every caller is accepted (local development, tests). @default - none */
  readonly originVerifier?: OriginVerifier;
  /** Unexpected errors and origin outages are logged here. @default - not logged */
  readonly logger?: Pick<CacheLogger, 'warn' | 'error'>;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** Cache of per-user data, without L1 so that a user reads their own writes on any instance. @default - `cache` */
  readonly personalCache?: ApiCache;
  /** Tags cached list pages with their products, for the write path's invalidation. @default - lists are not tagged */
  readonly listTags?: ProductListTags;
  /** The write routes (lambda/shop/api/write-routes.ts). @default - none: writes get 405 */
  readonly writes?: WriteRouteHandler;
}

export type ApiHandler = (event: ApiEvent) => Promise<ApiResponse>;

interface RequestContext {
  readonly event: ApiEvent;
  readonly method: string;
  readonly match: RouteMatch;
  readonly query: Record<string, string>;
  /** A shared cache must not store the answer (Authorization or cookies present). */
  readonly personalised: boolean;
}

export function createApi(deps: ApiDependencies): ApiHandler {
  const clock = deps.clock ?? Date.now;
  const staleWindows = deps.staleWindows ?? DEFAULT_STALE_WINDOWS;

  /** 200/304 for a found entity, 404 (no-store) for a negatively cached or absent one. */
  function respond<T>(ctx: RequestContext, read: CacheRead<T>, ttlClass: TtlClass, cacheability: Cacheability, what: string): ApiResponse {
    const headers = { 'x-cache': read.source };
    if (read.value === null) return errorResponse(404, 'not_found', `${what} does not exist`, { method: ctx.method, headers });
    const effective = ctx.personalised && cacheability === Cacheability.PUBLIC ? Cacheability.PRIVATE : cacheability;
    return entityResponse({
      body: JSON.stringify(read.value),
      cacheability: effective,
      maxAgeSeconds: remainingFreshnessSeconds(deps.ttls[ttlClass], read.storedAtMs, clock()),
      staleWindows,
      ifNoneMatch: headerValue(ctx.event.headers, 'if-none-match'),
      method: ctx.method,
      headers,
    });
  }

  async function product(ctx: RequestContext): Promise<ApiResponse> {
    const id = parseId('id', ctx.match.id);
    const read = await deps.cache.get<Product>(
      deps.keys.product(id),
      TtlClass.PRODUCT,
      async () => {
        const found = await deps.origin.products.findById(id);
        return found && { value: found, version: found.version };
      },
      { staleWhileRevalidate: true },
    );
    return respond(ctx, read, TtlClass.PRODUCT, Cacheability.PUBLIC, `product ${id}`);
  }

  async function productList(ctx: RequestContext): Promise<ApiResponse> {
    const category = parseCategory(ctx.query.category);
    const page = parsePage(ctx.query.page);
    const key = deps.keys.productList(category, page);
    const read = await deps.cache.get<ProductPage>(
      key,
      TtlClass.PRODUCT_LIST,
      trackedListLoader(deps.listTags, key, () => deps.origin.products.listPage(category, page), (error) =>
        deps.logger?.warn('list page not tagged; a product write may leave it stale until its TTL', { key, error: String(error) }),
      ),
    );
    return respond(ctx, read, TtlClass.PRODUCT_LIST, Cacheability.PUBLIC, `category ${category}`);
  }

  async function user(ctx: RequestContext): Promise<ApiResponse> {
    const subject = subjectOf(ctx.event as APIGatewayProxyEventV2WithJWTAuthorizer);
    const id = parseId('id', ctx.match.id);
    if (subject !== String(id)) throw new ForbiddenError('a user may read only their own record');
    const read = await (deps.personalCache ?? deps.cache).get<UserSummary>(deps.keys.userSummary(id), TtlClass.USER_PROFILE, async () => {
      const found = await deps.origin.users.findSummary(id);
      return found && { value: found, version: found.version };
    });
    return respond(ctx, read, TtlClass.USER_PROFILE, Cacheability.PRIVATE, `user ${id}`);
  }

  async function config(ctx: RequestContext): Promise<ApiResponse> {
    const read = await deps.cache.get<AppConfig>(deps.keys.config(), TtlClass.CONFIG, async () => ({ value: await deps.origin.config.load() }));
    return respond(ctx, read, TtlClass.CONFIG, Cacheability.PUBLIC, 'config');
  }

  const routes: Record<RouteName, (ctx: RequestContext) => Promise<ApiResponse>> = {
    [RouteName.PRODUCT]: product,
    [RouteName.PRODUCT_LIST]: productList,
    [RouteName.USER]: user,
    [RouteName.CONFIG]: config,
    [RouteName.HEALTH]: async (ctx) => uncachedResponse(200, { status: 'ok' }, ctx.method),
  };

  return async (event) => {
    const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
    try {
      if (deps.originVerifier && !(await deps.originVerifier.verify(headerValue(event.headers, ORIGIN_VERIFY_HEADER)))) {
        return errorResponse(403, 'forbidden', 'requests must come through the CDN', { method });
      }
      const rawPath = event.rawPath ?? '/';
      const write = deps.writes && matchWriteRoute(method, rawPath);
      if (write?.kind === 'method-not-allowed') return methodNotAllowed(method, write.allow);
      if (write) return await deps.writes!(event, method, write);
      checkRequestSize(rawPath, event.rawQueryString ?? '', event.body, event.isBase64Encoded ?? false);
      if (!(ALLOWED_METHODS as readonly string[]).includes(method)) {
        return errorResponse(405, 'method_not_allowed', `${method} is not allowed; use ${ALLOWED_METHODS.join(' or ')}`, { headers: { allow: ALLOWED_METHODS.join(', ') } });
      }
      const match = matchRoute(rawPath);
      if (!match) return errorResponse(404, 'not_found', 'no such route', { method });
      const query = parseQuery(event.rawQueryString ?? '', match.route.query);
      return await routes[match.name]({ event, method, match, query, personalised: carriesCredentials(event.headers, event.cookies) });
    } catch (error) {
      const { response, unexpected } = responseForError(error, method);
      if (unexpected) deps.logger?.error('unexpected error answering a request', { path: event.rawPath, error: describe(error) });
      else if (error instanceof OriginUnavailableError) deps.logger?.warn('origin unavailable and nothing cached to serve', { path: event.rawPath, error: error.message });
      return response;
    }
  };
}

function describe(error: unknown): Record<string, unknown> | string {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error);
}
