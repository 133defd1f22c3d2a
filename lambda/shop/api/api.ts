/**
 * The shop's API core: turns an API Gateway HTTP API (payload v2) event into a response. It takes
 * every dependency as an argument and never reads the environment; `lambda/api/index.ts` wires the
 * real clients, the dev server and the tests wire theirs.
 *
 * Per request: origin lock (x-origin-verify) → `GET /api/users/me` → the write routes (write-routes.ts) → the declared
 * resources (resources.ts, answered by the runtime's resource API: route, query, key, headers, tags,
 * who may see it) → health → 405/404. Every cached answer says where it came from in
 * `x-cache: l1|redis|origin|stale`.
 */
import {
  checkRequestSize,
  createResourceApi,
  errorResponse,
  headerValue,
  ORIGIN_VERIFY_HEADER,
  parseQuery,
  RESOURCE_METHODS,
  responseForError,
  subjectOf,
  uncachedResponse,
  type ApiResponse,
  type CacheKeys,
  type CacheLogger,
  type OriginVerifier,
  type ResourceCache,
  type ResourceEvent,
  type StaleWindows,
  type TagIndex,
  type TtlTable,
} from 'cache-pyramid/runtime';
import { shopBindings, type ShopOrigin } from './read-bindings';
import { HEALTH_PATH } from './routes';
import { matchWriteRoute, methodNotAllowed, type WriteRouteHandler } from './write-routes';

/** The event as API Gateway delivers it: with JWT claims on authorized routes, without on the others. */
export type ApiEvent = ResourceEvent;

export interface ApiDependencies {
  /** The shared cache (L1 + Redis) of public resources. */
  readonly cache: ResourceCache;
  /** The cache of per-user data (Redis only, no L1), so that a user reads their own writes on any instance. */
  readonly personalCache: ResourceCache;
  /** Where tagged values (products, list pages) are recorded before they are cached, for the write path's tag purges. */
  readonly tagIndex: TagIndex;
  readonly keys: CacheKeys;
  readonly origin: ShopOrigin;
  /** The TTL table the caches use; public `max-age` is derived from it. */
  readonly ttls: TtlTable;
  /** Stale windows granted to CDNs and browsers on public responses. @default DEFAULT_STALE_WINDOWS */
  readonly staleWindows?: StaleWindows;
  /** The origin lock; without it every caller is accepted (local development, tests). @default - none */
  readonly originVerifier?: OriginVerifier;
  /** Unexpected errors and origin outages are logged here. @default - not logged */
  readonly logger?: Pick<CacheLogger, 'warn' | 'error'>;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** The write routes (lambda/shop/api/write-routes.ts). @default - none: writes get 405 */
  readonly writes?: WriteRouteHandler;
}

export type ApiHandler = (event: ApiEvent) => Promise<ApiResponse>;

/** Where a signed-in user finds their own profile, whatever their id. */
export const OWN_PROFILE_PATH = '/api/users/me';

/**
 * The subject the per-user resources compare with their user id: the id of the user the token's
 * `sub` is linked to, or, for a token that names no user, a value no id can equal (so every per-user
 * read answers the 404 a missing record answers).
 */
export async function userSubjectOf(event: ApiEvent, identities: ShopOrigin['identities']): Promise<string> {
  const sub = subjectOf(event as Parameters<typeof subjectOf>[0]);
  const userId = await identities.userIdOf(sub);
  return userId === undefined ? `unlinked:${sub}` : String(userId);
}

export function createApi(deps: ApiDependencies): ApiHandler {
  const resources = createResourceApi({
    bindings: shopBindings(deps.origin),
    cache: deps.cache,
    personalCache: deps.personalCache,
    tagIndex: deps.tagIndex,
    keys: deps.keys,
    ttls: deps.ttls,
    staleWindows: deps.staleWindows,
    clock: deps.clock,
    logger: deps.logger,
    subjectOf: (event) => userSubjectOf(event, deps.origin.identities),
  });

  return async (event) => {
    const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
    try {
      if (deps.originVerifier && !(await deps.originVerifier.verify(headerValue(event.headers, ORIGIN_VERIFY_HEADER)))) {
        return errorResponse(403, 'forbidden', 'requests must come through the CDN', { method });
      }
      const rawPath = event.rawPath ?? '/';
      if (rawPath === OWN_PROFILE_PATH && (method === 'GET' || method === 'HEAD')) return await ownProfile(event, method, deps.origin.identities);
      const write = deps.writes && matchWriteRoute(method, rawPath);
      if (write?.kind === 'method-not-allowed') return methodNotAllowed(method, write.allow);
      if (write) return await deps.writes!(event, method, write);
      const answered = await resources.handle(event);
      if (answered) return answered;
      checkRequestSize(rawPath, event.rawQueryString ?? '', event.body, event.isBase64Encoded ?? false);
      if (!(RESOURCE_METHODS as readonly string[]).includes(method)) {
        return errorResponse(405, 'method_not_allowed', `${method} is not allowed; use ${RESOURCE_METHODS.join(' or ')}`, { headers: { allow: RESOURCE_METHODS.join(', ') } });
      }
      if (rawPath !== HEALTH_PATH) return errorResponse(404, 'not_found', 'no such route', { method });
      parseQuery(event.rawQueryString ?? '', []);
      return uncachedResponse(200, { status: 'ok' }, method);
    } catch (error) {
      const { response, unexpected } = responseForError(error, method);
      if (unexpected) deps.logger?.error('unexpected error answering a request', { path: event.rawPath, error: describe(error) });
      return response;
    }
  };
}

/**
 * `GET /api/users/me`: a redirect to the signed-in user's own `/api/users/{id}` (a token carries the
 * identity provider's subject, not the shop's id). Never stored: it differs per caller.
 */
async function ownProfile(event: ApiEvent, method: string, identities: ShopOrigin['identities']): Promise<ApiResponse> {
  const subject = await userSubjectOf(event, identities);
  if (!/^\d+$/.test(subject)) return errorResponse(404, 'not_found', 'no user is linked to this sign-in', { method });
  const location = `/api/users/${subject}`;
  return {
    statusCode: 303,
    headers: { 'x-content-type-options': 'nosniff', 'content-type': 'application/json', 'cache-control': 'private, no-store', location },
    body: method === 'HEAD' ? '' : JSON.stringify({ location }),
  };
}

function describe(error: unknown): Record<string, unknown> | string {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error);
}
