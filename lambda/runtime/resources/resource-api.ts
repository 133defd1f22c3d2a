/**
 * The generic read API of declared resources: `GET`/`HEAD` of every bound resource, for API Gateway
 * HTTP API (payload v2) events, read through the application cache. Everything an answer carries is
 * derived from the resource's declaration:
 *
 * | answer | derived from |
 * | --- | --- |
 * | which resource, which params | `resource.parse` (path + declared query) |
 * | 308 to the canonical URL | a valid query spelled another way (order, percent-escapes, a default given) |
 * | 400 | a bad parameter, an unknown or repeated query parameter, a body |
 * | 401 | a per-subject resource without a verified subject |
 * | cache used | `Sharing.PUBLIC`: `cache` (L1 + Redis); `Sharing.PER_SUBJECT`: `personalCache` (Redis only) |
 * | Redis key | `resource.key(keys, params)` |
 * | `Cache-Control` | public: `public, max-age=<TTL left>, stale-while-revalidate, stale-if-error`; per subject, or any request with credentials: `private, max-age=0, no-cache` |
 * | `ETag`, 304 | the body's bytes (`http/etag.ts`) |
 * | 404, `no-store` | a missing value, AND a per-subject value that is not the caller's: same status, headers (no `x-cache`) and body |
 * | `x-cache` | where the value came from: `l1`, `redis`, `origin` or `stale` |
 *
 * Paths no bound resource has are left to the caller (`handle` resolves `undefined`), so an app puts
 * its own routes (writes, health) next to it.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { subjectOf as claimsSubjectOf } from '../auth/claims';
import { type CacheLogger, type CacheRead, type Loaded, type ReadOptions, type TagIndex } from '../cache';
import { bytesPerChar } from '../cache/heap-size';
import { OriginUnavailableError } from '../errors';
import { Cacheability, carriesCredentials, DEFAULT_STALE_WINDOWS, NO_STORE, PRIVATE_CACHE_CONTROL, remainingFreshnessSeconds, StaleWindows } from '../http/cache-control';
import { checkRequestSize, headerValue } from '../http/request';
import { strongETag } from '../http/etag';
import { ApiResponse, entityResponse, errorResponse, JSON_CONTENT_TYPE, responseForError } from '../http/response';
import type { CacheKeys } from '../keys';
import { CacheTtl, TtlTable, ttlSecondsOf } from '../ttl';
import { Resource, ResourceParams, Sharing } from './resource';

/** The event as API Gateway delivers it: with JWT claims on authorized routes, without on the others. */
export type ResourceEvent = APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2;

/** The read path the resource API needs from a cache (`ReadThroughCache` fits). */
export interface ResourceCache {
  get<T>(key: string, ttl: CacheTtl, load: () => Promise<Loaded<T>>, options?: ReadOptions): Promise<CacheRead<T>>;
  /**
   * Told the heap bytes of the body and ETag memoised for a value `get` answered for `key`, which
   * live as long as the value does, so that the cache counts them against its bound.
   * @default - not counted
   */
  attach?(key: string, value: unknown, bytes: number): void;
}

/** What a loader is told about the request that made it run. */
export interface ResourceLoadContext {
  /** The request whose miss started the load (a coalesced load serves other requests too). */
  readonly event: ResourceEvent;
  /** The verified subject, for a per-subject resource. @default - undefined for a public resource */
  readonly subject?: string;
  /** Caches this value for `ttl` (a TTL class or seconds) instead of the resource's TTL; `max-age` follows. */
  setTtl(ttl: CacheTtl): void;
  /** Answers this value without keeping it in L1 or Redis; the answer is `no-store`. */
  skipCache(): void;
}

/** A declared resource and the function that loads it from the origin. */
export interface ResourceBinding<TValue = unknown> {
  readonly resource: Resource<TValue>;
  /** The value of one answer, or `null` when the origin does not have it (404, negatively cached). */
  load(params: ResourceParams, context: ResourceLoadContext): Promise<TValue | null>;
  /**
   * The message of the 404. It depends on the params only, so that a per-subject value that is not
   * the caller's cannot be told from a missing one.
   * @default - `<name> <canonical URL> does not exist`
   */
  notFoundMessage?(params: ResourceParams): string;
  /**
   * For a resource that declares `paging` (and only then): the number of the list's last page, 1 for
   * an empty list (whose page 1 answers 200 with no items), or `null` when the list itself does not
   * exist (the 404 of `notFoundMessage`). Called with the params of the request, cached like a value
   * of the resource under `lastPageKey` with the declared `listTags`, and asked only for page 2 and
   * beyond: a page past it answers 404 without calling `load`.
   */
  lastPage?(params: ResourceParams, context: Pick<ResourceLoadContext, 'event' | 'subject'>): Promise<number | null>;
}

/** Binds a loader to a resource with the value type checked against the declaration. */
export function bindResource<TValue>(binding: ResourceBinding<TValue>): ResourceBinding<TValue> {
  return binding;
}

export interface ResourceApiOptions {
  /** The resources this API answers, each with its loader. Names and paths must be unique. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each binding keeps its own value type
  readonly bindings: readonly ResourceBinding<any>[];
  /** The shared cache (L1 + Redis) of public resources. */
  readonly cache: ResourceCache;
  /**
   * The cache of per-subject resources: Redis without L1, so that a subject reads their own writes on
   * any instance. Required when a per-subject resource is bound.
   * @default - none
   */
  readonly personalCache?: ResourceCache;
  /** Key builders; `clusterMode` must match the caches' client. */
  readonly keys: CacheKeys;
  /** The TTL table the caches use; a public answer's `max-age` is derived from it. */
  readonly ttls: TtlTable;
  /** Stale windows granted to CDNs and browsers on public answers. @default DEFAULT_STALE_WINDOWS */
  readonly staleWindows?: StaleWindows;
  /**
   * Where the keys and CDN paths of tagged values are recorded before they are cached, for
   * `invalidateTag`. Required when a bound resource declares `tags`.
   * @default - none
   */
  readonly tagIndex?: TagIndex;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /**
   * The caller's verified subject, compared with `subjectParam` and `ownerOf`; throws
   * `UnauthorizedError` (401) without one. May resolve it asynchronously, e.g. to map the identity
   * provider's `sub` (a Cognito UUID) to the app's own user id.
   * @default - the JWT `sub` claim (`auth/claims.ts`)
   */
  readonly subjectOf?: (event: ResourceEvent) => string | Promise<string>;
  /** Unexpected errors and origin outages are logged here. @default - not logged */
  readonly logger?: Pick<CacheLogger, 'warn' | 'error'>;
}

export interface ResourceApi {
  /** The answer for `event`, or `undefined` when no bound resource has its path. Never throws. */
  handle(event: ResourceEvent): Promise<ApiResponse | undefined>;
  /** The bound resources, in the order they are matched. */
  readonly resources: readonly Resource[];
}

/** Whether the loader of this request kept its value out of the cache (`skipCache`). */
interface LoadState {
  uncached: boolean;
}

/** Methods a resource answers: HEAD is GET without the body. */
export const RESOURCE_METHODS = ['GET', 'HEAD'] as const;

/** A redirect to the canonical spelling depends on the declaration only; shared caches may keep it this long. */
export const CANONICAL_REDIRECT_MAX_AGE_SECONDS = 3600;

/**
 * Bodies and ETags of values answered before. An L1 hit hands back the very object it stored, so
 * its JSON and SHA-256 are computed once per cached value instead of once per request (most of an
 * L1 hit's cost). Cached values are never mutated: every reader shares them already. The memo lives
 * as long as its value, so its heap is counted by the cache holding the value (`ResourceCache.attach`).
 */
const representations = new WeakMap<object, { readonly body: string; readonly etag: string }>();

/**
 * Heap of one memo beyond its body's characters: the ETag (a 24-character string V8 keeps as a
 * concatenation of a slice of the SHA-256's base64url), the memo object, the body's string headers,
 * and its entries in `representations` and in the cache's attached bytes: about 330 bytes measured.
 */
export const MEMO_OVERHEAD_BYTES = 352;

function representationOf(value: unknown, cache: ResourceCache, key: string): { readonly body: string; readonly etag: string } {
  const known = typeof value === 'object' && value !== null ? representations.get(value) : undefined;
  if (known) return known;
  const body = JSON.stringify(value);
  const made = { body, etag: strongETag(body) };
  if (typeof value === 'object' && value !== null) {
    representations.set(value, made);
    cache.attach?.(key, value, MEMO_OVERHEAD_BYTES + bytesPerChar(body) * body.length);
  }
  return made;
}

export function createResourceApi(options: ResourceApiOptions): ResourceApi {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const { resource } of options.bindings) {
    if (names.has(resource.name)) throw new RangeError(`bindings: resource name ${resource.name} is bound twice`);
    if (paths.has(resource.path)) throw new RangeError(`bindings: path ${resource.path} is bound twice (resource ${resource.name})`);
    names.add(resource.name);
    paths.add(resource.path);
    if (resource.sharing === Sharing.PER_SUBJECT && !options.personalCache) {
      throw new RangeError(`personalCache is required: resource ${resource.name} is per-subject and must not be kept in L1`);
    }
    if ((resource.tags !== undefined || resource.paging !== undefined) && !options.tagIndex) {
      throw new RangeError(`tagIndex is required: resource ${resource.name} declares ${resource.tags !== undefined ? 'tags' : 'paging'}, which must be recorded before a value is cached`);
    }
    const binding = options.bindings.find((b) => b.resource === resource)!;
    if (resource.paging !== undefined && typeof binding.lastPage !== 'function') {
      throw new RangeError(`bindings: resource ${resource.name} declares paging, so its binding needs lastPage(params), the number of the list's last page`);
    }
    if (resource.paging === undefined && binding.lastPage !== undefined) {
      throw new RangeError(`bindings: resource ${resource.name} has lastPage but declares no paging; declare paging: { pageParam, listTags }`);
    }
    ttlSecondsOf(options.ttls, resource.ttl);
  }
  const readOptionsOf = new Map(options.bindings.map((b) => [b.resource as Resource, readOptions(b.resource)]));
  const clock = options.clock ?? Date.now;
  const staleWindows = options.staleWindows ?? DEFAULT_STALE_WINDOWS;
  const subjectOf = options.subjectOf ?? ((event: ResourceEvent) => claimsSubjectOf(event as APIGatewayProxyEventV2WithJWTAuthorizer));

  function notFound(binding: ResourceBinding, params: ResourceParams, method: string, source?: string): ApiResponse {
    const message = binding.notFoundMessage?.(params) ?? `${binding.resource.name} ${binding.resource.canonicalUrl(params)} does not exist`;
    return errorResponse(404, 'not_found', message, { method, headers: source ? { 'x-cache': source } : {} });
  }

  function redirect(resource: Resource, params: ResourceParams, method: string, personalised: boolean): ApiResponse {
    const location = resource.canonicalUrl(params);
    const cacheControl =
      resource.sharing !== Sharing.PUBLIC ? NO_STORE : personalised ? PRIVATE_CACHE_CONTROL : `public, max-age=${CANONICAL_REDIRECT_MAX_AGE_SECONDS}`;
    return {
      statusCode: 308,
      headers: { 'x-content-type-options': 'nosniff', 'content-type': JSON_CONTENT_TYPE, 'cache-control': cacheControl, location },
      body: method === 'HEAD' ? '' : JSON.stringify({ location }),
    };
  }

  /** One origin read of `binding`, with the controls its loader used, tagged when the resource declares tags. */
  async function loadOnce(binding: ResourceBinding, params: ResourceParams, event: ResourceEvent, subject: string | undefined, state: LoadState): Promise<Loaded<unknown>> {
    let ttlSeconds: number | undefined;
    let keep = true;
    const context: ResourceLoadContext = {
      event,
      ...(subject === undefined ? {} : { subject }),
      setTtl: (ttl) => (ttlSeconds = ttlSecondsOf(options.ttls, ttl)),
      skipCache: () => (keep = false),
    };
    const value = await binding.load(params, context);
    if (value === null) return null;
    state.uncached = !keep;
    return { value, version: binding.resource.version?.(value), ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(keep ? {} : { cache: false }) };
  }

  function load(binding: ResourceBinding, params: ResourceParams, event: ResourceEvent, subject: string | undefined, key: string, state: LoadState): Promise<Loaded<unknown>> {
    const { resource } = binding;
    const tagsOf = resource.tags;
    if (tagsOf === undefined) return loadOnce(binding, params, event, subject, state);
    return options.tagIndex!.loader({
      key,
      paths: resource.cdnPaths(params),
      ttlSeconds: ttlSecondsOf(options.ttls, resource.ttl),
      load: () => loadOnce(binding, params, event, subject, state),
      tagsOf: (value) => tagsOf(value, params),
      onError: (error) => options.logger?.warn('tagged value not recorded in its tag sets; answered uncached', { resource: resource.name, key, error: String(error) }),
    })();
  }

  /**
   * The list's last page number, from the cache or its binding's `lastPage`, recorded under the
   * declared `listTags` before it is cached: a write that purges one of them drops it, and a count
   * read while such a write commits is read again rather than cached (the tag index's tickets).
   */
  async function readLastPage(binding: ResourceBinding, params: ResourceParams, event: ResourceEvent, subject: string | undefined): Promise<CacheRead<number>> {
    const { resource } = binding;
    const paging = resource.paging!;
    const listParams = { ...params, [paging.pageParam]: undefined };
    const key = resource.lastPageKey(options.keys, params);
    const cache = resource.sharing === Sharing.PER_SUBJECT ? options.personalCache! : options.cache;
    const ttlSeconds = ttlSecondsOf(options.ttls, resource.ttl);
    const count = async (): Promise<Loaded<number>> => {
      const last = await binding.lastPage!(listParams, { event, ...(subject === undefined ? {} : { subject }) });
      if (last === null) return null;
      if (!Number.isSafeInteger(last) || last < 1) throw new RangeError(`resource ${resource.name}: lastPage must resolve a positive integer or null, got ${String(last)}`);
      return { value: last };
    };
    return cache.get<number>(
      key,
      resource.ttl,
      options.tagIndex!.loader<number>({
        key,
        // No URL serves the number itself: the pages it bounds are purged through their own tags.
        paths: [],
        ttlSeconds,
        load: count,
        tagsOf: () => paging.listTags(listParams),
        onError: (error) => options.logger?.warn('last page number not recorded in its tag sets; answered uncached', { resource: resource.name, key, error: String(error) }),
      }),
      readOptionsOf.get(resource)!,
    );
  }

  /**
   * For page 2 and beyond of a paged list: the 404 of a page past the last one (or of a list that
   * does not exist), from the cached last page number; undefined when the page exists. Page 1 needs
   * no count: it exists whenever the list does (empty, it answers 200 with no items).
   */
  async function pastTheEnd(binding: ResourceBinding, params: ResourceParams, event: ResourceEvent, subject: string | undefined, method: string): Promise<ApiResponse | undefined> {
    const paging = binding.resource.paging;
    if (paging === undefined) return undefined;
    const page = params[paging.pageParam] as number;
    if (page <= 1) return undefined;
    const last = await readLastPage(binding, params, event, subject);
    // Like any per-subject 404, it says nothing of where it came from.
    const source = binding.resource.sharing === Sharing.PER_SUBJECT ? undefined : last.source;
    if (last.value === null) return notFound(binding, params, method, source);
    if (page <= last.value) return undefined;
    const message = `page ${page} is past the last page (${last.value}) of ${binding.resource.canonicalUrl({ ...params, [paging.pageParam]: undefined })}`;
    return errorResponse(404, 'not_found', message, { method, headers: source ? { 'x-cache': source } : {} });
  }

  async function answer(binding: ResourceBinding, event: ResourceEvent, method: string): Promise<ApiResponse> {
    const { resource } = binding;
    const rawPath = event.rawPath ?? '/';
    const rawQuery = event.rawQueryString ?? '';
    if (!(RESOURCE_METHODS as readonly string[]).includes(method)) {
      return errorResponse(405, 'method_not_allowed', `${method} is not allowed; use ${RESOURCE_METHODS.join(' or ')}`, { headers: { allow: RESOURCE_METHODS.join(', ') } });
    }
    checkRequestSize(rawPath, rawQuery, event.body, event.isBase64Encoded ?? false);
    const perSubject = resource.sharing === Sharing.PER_SUBJECT;
    // Authentication first: an anonymous caller learns nothing, not even which ids are well-formed.
    const subject = perSubject ? await subjectOf(event) : undefined;
    const parsed = resource.parse(rawPath, rawQuery)!;
    const personalised = carriesCredentials(event.headers, event.cookies);
    if (!parsed.canonical) return redirect(resource, parsed.params, method, personalised);
    const { params } = parsed;
    if (perSubject && resource.subjectParam !== undefined && String(params[resource.subjectParam]) !== subject) {
      return notFound(binding, params, method);
    }
    // Only a paged list pays for the check (an await on every hit is a measurable share of an L1 hit).
    if (resource.paging !== undefined) {
      const beyond = await pastTheEnd(binding, params, event, subject, method);
      if (beyond) return beyond;
    }
    const cache = perSubject ? options.personalCache! : options.cache;
    const key = resource.key(options.keys, params);
    const state: LoadState = { uncached: false };
    // One closure per request; everything a miss needs is built inside it, so a hit does not pay for it.
    const read = await cache.get(key, resource.ttl, () => load(binding, params, event, subject, key, state), readOptionsOf.get(resource)!);
    // A per-subject 404 says nothing of where it came from: a cached value that is someone else's
    // would otherwise answer `redis` where a missing one answers `origin`.
    if (read.value === null) return notFound(binding, params, method, perSubject ? undefined : read.source);
    if (perSubject && resource.ownerOf !== undefined && resource.ownerOf(read.value) !== subject) return notFound(binding, params, method);
    // An answer its loader kept out of the cache is kept out of every other cache too.
    const cacheability = state.uncached && read.source === 'origin' ? Cacheability.SECRET : perSubject || personalised ? Cacheability.PRIVATE : Cacheability.PUBLIC;
    const { body, etag } = representationOf(read.value, cache, key);
    return entityResponse({
      body,
      etag,
      cacheability,
      maxAgeSeconds: remainingFreshnessSeconds(read.ttlSeconds ?? ttlSecondsOf(options.ttls, resource.ttl), read.storedAtMs, clock()),
      staleWindows,
      ifNoneMatch: headerValue(event.headers, 'if-none-match'),
      method,
      headers: { 'x-cache': read.source },
    });
  }

  return {
    resources: options.bindings.map((b) => b.resource),
    async handle(event) {
      const binding = options.bindings.find((b) => b.resource.matchesPath(event.rawPath ?? '/'));
      if (!binding) return undefined;
      const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
      try {
        return await answer(binding, event, method);
      } catch (error) {
        const { response, unexpected } = responseForError(error, method);
        if (unexpected) options.logger?.error('unexpected error answering a resource', { resource: binding.resource.name, path: event.rawPath, error: describe(error) });
        else if (error instanceof OriginUnavailableError) options.logger?.warn('origin unavailable and nothing cached to serve', { resource: binding.resource.name, path: event.rawPath, error: error.message });
        return response;
      }
    },
  };
}

/** The read options a resource's declaration asks for: SWR and its loader policy. */
function readOptions(resource: Resource): ReadOptions {
  const loader = resource.loader ?? {};
  return {
    ...(resource.staleWhileRevalidate ? { staleWhileRevalidate: true } : {}),
    ...(loader.softTimeoutMs === undefined ? {} : { softTimeoutMs: loader.softTimeoutMs }),
    ...(loader.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: loader.hardTimeoutMs }),
    ...(loader.graceBackoffMs === undefined ? {} : { graceBackoffMs: loader.graceBackoffMs }),
  };
}

function describe(error: unknown): Record<string, unknown> | string {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error);
}
