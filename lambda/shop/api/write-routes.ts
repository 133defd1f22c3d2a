/**
 * The write routes of the API, one per write pattern of the seed:
 *
 * | route | pattern | answer |
 * | --- | --- | --- |
 * | `PUT /api/products/{id}` (scope `products:write`) | cache-aside write + invalidation | 200, 409 on a stale `version` |
 * | `POST /api/orders` | write-through | 201 + `Location` (then read as the declared `order` resource) |
 * | `PATCH /api/users/{id}/profile` (own id) | write-behind | 202 (queued), 200 if Redis was down |
 *
 * Every input is checked before anything is written or enqueued: a body must be
 * `application/json`, at most {@link WRITE_BODY_MAX_BYTES} bytes, well-formed, with known fields of
 * the right types; ids are positive integers within 2^53 − 1. Each rejection is a 400 naming the
 * field. Like the read routes, nothing here reads the environment: `createWriteRoutes` takes its
 * dependencies as arguments.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import {
  checkRequestSize,
  errorResponse,
  ForbiddenError,
  headerValue,
  OriginUnavailableError,
  parseId,
  QueueSendError,
  scopesOf,
  subjectOf,
  toWriteError,
  uncachedResponse,
  ValidationError,
  type ApiResponse,
  type CacheKeys,
  type InvalidationPublisher,
  type ReadThroughCache,
  type ResourceEvent,
  type TagIndex,
} from 'cache-pyramid/runtime';
import { UserIdentityRepository, type Queryable, type UserSummary } from '../repositories';
import { acceptProfileChange, ProfileChangeStatus } from '../write-behind/accept-profile-change';
import { validateProfileFields } from '../write-behind/profile-change';
import type { ProfileSequencer } from '../write-behind/profile-sequencer';
import type { ProfileChangeQueue } from '../write-behind/queue';
import { OrderStore, parseNewOrder, placeOrder } from '../write-path/orders';
import { parseProductUpdate, updateProduct } from '../write-path/product-writer';

/** The event of a write route (the same payload-v2 event as a read's). */
type ApiEvent = ResourceEvent;

/** Largest request body a write route takes (the biggest valid body, an order of 50 items, is ~3 KB). */
export const WRITE_BODY_MAX_BYTES = 16 * 1024;

/** The OAuth scope `PUT /api/products/{id}` requires. */
export const PRODUCTS_WRITE_SCOPE = 'products:write';

export enum WriteRouteName {
  UPDATE_PRODUCT = 'updateProduct',
  PLACE_ORDER = 'placeOrder',
  UPDATE_PROFILE = 'updateProfile',
}

export interface WriteRoute {
  /** API Gateway route key. */
  readonly routeKey: string;
  /** Scopes API Gateway's authorizer (and the route) require. */
  readonly scopes: readonly string[];
}

/** Every write route needs a verified JWT. */
export const WRITE_API_ROUTES: Readonly<Record<WriteRouteName, WriteRoute>> = {
  [WriteRouteName.UPDATE_PRODUCT]: { routeKey: 'PUT /api/products/{id}', scopes: [PRODUCTS_WRITE_SCOPE] },
  [WriteRouteName.PLACE_ORDER]: { routeKey: 'POST /api/orders', scopes: [] },
  [WriteRouteName.UPDATE_PROFILE]: { routeKey: 'PATCH /api/users/{id}/profile', scopes: [] },
};

/** Paths of the write routes, with every method each path answers (read routes included). */
const PATHS: readonly { readonly pattern: RegExp; readonly methods: Readonly<Record<string, WriteRouteName | 'read'>> }[] = [
  { pattern: /^\/api\/products\/([^/]+)$/, methods: { GET: 'read', HEAD: 'read', PUT: WriteRouteName.UPDATE_PRODUCT } },
  { pattern: /^\/api\/orders$/, methods: { POST: WriteRouteName.PLACE_ORDER } },
  { pattern: /^\/api\/orders\/([^/]+)$/, methods: { GET: 'read', HEAD: 'read' } },
  { pattern: /^\/api\/users\/([^/]+)\/profile$/, methods: { PATCH: WriteRouteName.UPDATE_PROFILE } },
];

export type WriteRouteMatch =
  | { readonly kind: 'route'; readonly name: WriteRouteName; readonly id?: string }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] };

/** The write route for `method` and `path`; a 405 verdict for a known path and another method; undefined otherwise (a read). */
export function matchWriteRoute(method: string, path: string): WriteRouteMatch | undefined {
  for (const { pattern, methods } of PATHS) {
    const match = pattern.exec(path);
    if (!match) continue;
    const target = methods[method];
    if (target === 'read') return undefined;
    if (target === undefined) return { kind: 'method-not-allowed', allow: Object.keys(methods) };
    return { kind: 'route', name: target, id: match[1] };
  }
  return undefined;
}

export interface WriteLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface WriteRoutesDependencies {
  readonly db: Queryable;
  /** The shared cache (L1 + Redis): products and lists. */
  readonly cache: Pick<ReadThroughCache, 'tombstone' | 'invalidate' | 'forgetTagged'>;
  /** The cache of per-user data (Redis only, no L1, so a user reads their own writes on any instance): orders, profiles. */
  readonly personalCache: Pick<ReadThroughCache, 'get' | 'put'>;
  readonly keys: CacheKeys;
  readonly users: { findSummary(id: number): Promise<UserSummary | null> };
  /** Which user a verified token's `sub` names (`users.subject`). @default - a UserIdentityRepository over `db` */
  readonly identities?: { userIdOf(subject: string): Promise<number | undefined> };
  /** Purges the tags a product write changes (its own, and both categories on a move); without it the event names the tags for the purge pipeline. */
  readonly tagIndex?: Pick<TagIndex, 'invalidate'>;
  readonly publisher: InvalidationPublisher;
  readonly profileQueue: ProfileChangeQueue;
  readonly sequencer: Pick<ProfileSequencer, 'begin'>;
  /** `Retry-After` of a 503. @default 5 */
  readonly retryAfterSeconds?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  readonly log?: WriteLogger;
}

export type WriteRouteHandler = (event: ApiEvent, method: string, match: Extract<WriteRouteMatch, { kind: 'route' }>) => Promise<ApiResponse>;

/** The JSON body of a write request, or a ValidationError naming `content-type` or `body`. */
export function parseJsonBody(event: ApiEvent): unknown {
  const contentType = headerValue(event.headers, 'content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new ValidationError('content-type', `the body must be sent as application/json, got ${JSON.stringify(contentType.slice(0, 64))}`);
  }
  const raw = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const bytes = Buffer.byteLength(raw);
  if (bytes > WRITE_BODY_MAX_BYTES) throw new ValidationError('body', `the body must be at most ${WRITE_BODY_MAX_BYTES} bytes, got ${bytes}`);
  if (bytes === 0) throw new ValidationError('body', 'a JSON body is required');
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ValidationError('body', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

function claimsEvent(event: ApiEvent): APIGatewayProxyEventV2WithJWTAuthorizer {
  return event as APIGatewayProxyEventV2WithJWTAuthorizer;
}

export function createWriteRoutes(deps: WriteRoutesDependencies): WriteRouteHandler {
  const retryAfterSeconds = deps.retryAfterSeconds ?? 5;
  const identities = deps.identities ?? new UserIdentityRepository(deps.db, { retryAfterSeconds });

  /** The user the token's subject is linked to; a token that names no user may not write as one. */
  async function subjectUserId(event: ApiEvent): Promise<number> {
    const userId = await identities.userIdOf(subjectOf(claimsEvent(event)));
    if (userId === undefined) throw new ForbiddenError('the token does not name a user');
    return userId;
  }
  const orders = { store: new OrderStore(deps.db), cache: deps.personalCache, keys: deps.keys, log: deps.log };

  /**
   * Runs `work`, turning "PostgreSQL / SQS cannot take it now" into a 503 with Retry-After, and a
   * value PostgreSQL refused (SQLSTATE class 22) into a 400: validation should have caught it first,
   * but a refusal we did not foresee is still the caller's input, not a server fault.
   */
  async function origin<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof QueueSendError) {
        deps.log?.error('write-behind queue refused a change; answered 503', { error: error.message });
        throw new OriginUnavailableError('the write-behind queue did not accept the change', retryAfterSeconds, { cause: error });
      }
      throw toWriteError(error, retryAfterSeconds);
    }
  }

  const routes: Record<WriteRouteName, (event: ApiEvent, method: string, id: string | undefined) => Promise<ApiResponse>> = {
    async [WriteRouteName.UPDATE_PRODUCT](event, method, rawId) {
      subjectOf(claimsEvent(event));
      if (!scopesOf(claimsEvent(event)).includes(PRODUCTS_WRITE_SCOPE)) throw new ForbiddenError(`updating a product needs the ${PRODUCTS_WRITE_SCOPE} scope`);
      const id = parseId('id', rawId);
      const update = parseProductUpdate(parseJsonBody(event), id);
      const { product } = await origin(() => updateProduct({ db: deps.db, cache: deps.cache, keys: deps.keys, tagIndex: deps.tagIndex, publisher: deps.publisher, log: deps.log }, id, update));
      return uncachedResponse(200, product, method);
    },

    async [WriteRouteName.PLACE_ORDER](event, method) {
      const userId = await subjectUserId(event);
      const order = parseNewOrder(parseJsonBody(event));
      const { order: placed, cached } = await origin(() => placeOrder(orders, userId, order));
      return uncachedResponse(201, placed, method, { location: `/api/orders/${placed.id}`, 'x-cache': cached ? 'write-through' : 'not-cached' });
    },

    async [WriteRouteName.UPDATE_PROFILE](event, method, rawId) {
      const subject = await subjectUserId(event);
      const id = parseId('id', rawId);
      if (subject !== id) throw new ForbiddenError('a user may change only their own profile');
      const fields = validateProfileFields(parseJsonBody(event));
      const accepted = await origin(() =>
        acceptProfileChange(
          { sequencer: deps.sequencer, queue: deps.profileQueue, cache: deps.personalCache, keys: deps.keys, users: deps.users, db: deps.db, publisher: deps.publisher, clock: deps.clock, log: deps.log },
          id,
          fields,
        ),
      );
      const queued = accepted.status === ProfileChangeStatus.QUEUED;
      return uncachedResponse(queued ? 202 : 200, { status: accepted.status, version: accepted.version, ...(accepted.changeId ? { changeId: accepted.changeId } : {}), profile: accepted.profile }, method);
    },
  };

  return async (event, method, match) => {
    checkRequestSize(event.rawPath ?? '/', event.rawQueryString ?? '', undefined, false);
    if ((event.rawQueryString ?? '') !== '') throw new ValidationError('query', 'write routes take no query parameters');
    return routes[match.name](event, method, match.id);
  };
}

/** 405 for a method a write path does not answer. */
export function methodNotAllowed(method: string, allow: readonly string[]): ApiResponse {
  return errorResponse(405, 'method_not_allowed', `${method} is not allowed here; use ${allow.join(' or ')}`, { headers: { allow: allow.join(', ') } });
}
