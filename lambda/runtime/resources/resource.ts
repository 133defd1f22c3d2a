/**
 * The resource model: one declaration per cached resource, from which every layer derives what it
 * needs, each in one place:
 *
 * | layer | derived from the declaration |
 * | --- | --- |
 * | API routing | `routeKey` (API Gateway), `match` (path + canonical query → params, 400 otherwise) |
 * | Redis | `key(keys, params)`: `<ns>:v<n>:{<name>:<param>…}` (hash-tagged in cluster mode) |
 * | L1 | used for `Sharing.PUBLIC` only; a per-subject value must be read fresh from Redis on any instance |
 * | HTTP | `Cache-Control` from `sharing` and the TTL, `ETag`/304 (see `http/`) |
 * | CloudFront | `pathPattern` and `queryNames` (cache key allow list), cached only when public |
 * | invalidation | `cdnPaths(params)`, the `tags(value, params)` a value carries |
 *
 * A declaration holds no clients and no loader: it is pure data plus pure functions, so the CDK app
 * imports the same declarations to derive behaviours and cache policies at synth time. Loaders are
 * bound where the clients live (`ResourceBinding` in the function code).
 */
import { ValidationError } from '../errors';
import type { CacheKeys } from '../keys';
import { CacheTtl, isDeclaredTtlClass, isTtlSeconds, TTL_RULE, TtlClass } from '../ttl';

/** Who may share one answer of a resource. */
export enum Sharing {
  /** The same for every caller: CloudFront, browsers, L1 and Redis may all keep it. */
  PUBLIC = 'public',
  /** One subject's data: Redis only (no L1, never a shared cache), answered `private` and only to that subject. */
  PER_SUBJECT = 'per-subject',
}

/** The kind of a path or query parameter: what it accepts and its one canonical spelling. */
export enum ParamKind {
  /** A positive decimal integer up to 2^53 − 1, without leading zeros: `42`. */
  ID = 'id',
  /** 1 to 64 lower-case letters, digits or hyphens: `garden-tools`. */
  SLUG = 'slug',
  /** A 1-based page number up to 10 000, without leading zeros. */
  PAGE = 'page',
}

/** One query parameter that is part of a resource (and of its CDN cache key). */
export interface QueryParamSpec {
  readonly kind: ParamKind;
  /**
   * The value assumed when the parameter is absent. The canonical URL omits a parameter equal to
   * its default, so `?page=1` is not a second spelling of the same answer.
   * @default - none: an absent parameter is simply not given (`undefined` in the params)
   */
  readonly default?: string | number;
}

/** Controls on the loader, after bentocache's `timeout`/`hardTimeout`/`grace` options. */
export interface LoaderPolicy {
  /** Past this, when a stale value exists, answer it and let the load finish in the background. @default - none */
  readonly softTimeoutMs?: number;
  /** Past this the load is abandoned: stale value if any, else a 503 (`OriginUnavailableError`). @default - none */
  readonly hardTimeoutMs?: number;
  /** After a failed load, do not call the origin again for this long while a stale value can be served. @default - none */
  readonly graceBackoffMs?: number;
}

/** Parameter values of one answer: path parameters and declared query parameters (defaults applied). */
export type ResourceParams = Readonly<Record<string, string | number | undefined>>;

/**
 * A paged list: which query parameter is the page number, and the tags of the list as a whole. The
 * list's last page number is loaded once (the binding's `lastPage`) and cached with these tags, so
 * a page past it answers 404 without running the page's loader (a cold `OFFSET` scan per URL), and a
 * write that adds or removes an item, which purges one of these tags, makes the next request count again.
 */
export interface PagingSpec {
  /** The query parameter holding the 1-based page number; declared in `query` with `ParamKind.PAGE`. */
  readonly pageParam: string;
  /**
   * Tags of the whole list, whatever the page: every write that adds an item to the list or removes
   * one must purge one of them (e.g. `category:garden`). The cached last page number carries them.
   */
  readonly listTags: (params: ResourceParams) => readonly string[];
}

/** The one declaration of a cached resource. */
export interface ResourceSpec<TValue> {
  /** Names the resource in keys, metrics and errors: 1 to 32 of `a-z 0-9 -`, starting with a letter, unique per app. */
  readonly name: string;
  /** Path template: `/api/products/{id}`. Each `{param}` is one whole path segment. */
  readonly path: string;
  /** Kind of each path parameter. @default - every placeholder is ParamKind.ID */
  readonly params?: Readonly<Record<string, ParamKind>>;
  /** Query parameters that are part of the resource; any other is a 400. @default - none */
  readonly query?: Readonly<Record<string, QueryParamSpec>>;
  /** Who may share an answer. */
  readonly sharing: Sharing;
  /**
   * For `Sharing.PER_SUBJECT`: the path parameter that must equal the caller's subject (JWT `sub`).
   * Without it, `ownerOf` decides. A caller who is not the subject gets the same 404 as a missing value.
   * @default - none
   */
  readonly subjectParam?: string;
  /** For `Sharing.PER_SUBJECT` without `subjectParam`: the subject that owns a loaded value. @default - none */
  readonly ownerOf?: (value: TValue) => string;
  /**
   * A built-in TTL class, a class of your own (`ttlClass('recipe', 600)`; both overridable per
   * stage), or a fixed number of seconds (an integer from 1 to 30 days).
   */
  readonly ttl: CacheTtl;
  /** Past the soft TTL, answer stale at once and refresh in the background. @default false */
  readonly staleWhileRevalidate?: boolean;
  /** The origin's version of a value (monotonic per key); guards fills against older data. @default - unversioned */
  readonly version?: (value: TValue) => number | undefined;
  /** Tags a cached value carries, e.g. `category:garden`; `invalidateTag` removes every key and CDN path carrying one. @default - none */
  readonly tags?: (value: TValue, params: ResourceParams) => readonly string[];
  /** Loader timeouts and grace backoff. @default - none */
  readonly loader?: LoaderPolicy;
  /** A paged list: pages past the last answer 404 from its cached last page number. @default - not paged: every valid page number is loaded */
  readonly paging?: PagingSpec;
}

/** A declared resource with everything derived from it. */
export interface Resource<TValue = unknown> extends ResourceSpec<TValue> {
  /** API Gateway route key: `GET /api/products/{id}`. */
  readonly routeKey: string;
  /** CloudFront path pattern of the resource: `/api/products/*`. */
  readonly pathPattern: string;
  /** The query parameters of the cache key, sorted. */
  readonly queryNames: readonly string[];
  /**
   * The params of a request for this resource: undefined when the path is not this resource's.
   * Throws `ValidationError` (a 400) for a bad parameter, an unknown or repeated query parameter, or a
   * query string that is not in its canonical form (see `canonicalQuery`).
   */
  match(rawPath: string, rawQueryString: string): ResourceParams | undefined;
  /** True when `rawPath` has this resource's shape (literal segments match), whatever its parameter values. */
  matchesPath(rawPath: string): boolean;
  /**
   * Like `match`, but a query string that spells valid values in another way (parameters in another
   * order, percent-encoded, a parameter equal to its default) is accepted with `canonical: false`, so
   * that the API can redirect to `canonicalUrl(params)`. Invalid values still throw `ValidationError`.
   */
  parse(rawPath: string, rawQueryString: string): { readonly params: ResourceParams; readonly canonical: boolean } | undefined;
  /** The Redis key of one answer. */
  key(keys: CacheKeys, params: ResourceParams): string;
  /** The one URL (path + canonical query) under which the answer is served. */
  canonicalUrl(params: ResourceParams): string;
  /** CloudFront paths to purge when this answer changes (empty for a per-subject resource). */
  cdnPaths(params: ResourceParams): readonly string[];
  /**
   * For a paged resource: the Redis key of the list's last page number, the page part of its key
   * spelled `last-page` (no page number is), e.g. `app:v1:product-list:garden:last-page`. Throws for a
   * resource without `paging`.
   */
  lastPageKey(keys: CacheKeys, params: ResourceParams): string;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
const SLUG = /^[a-z0-9-]{1,64}$/;
const ID = /^[1-9][0-9]{0,15}$/;
const MAX_PAGE = 10_000;
/** Where a page number sits in a page's key, the last page number's key has this: no page number is spelled so. */
const LAST_PAGE_KEY_PART = 'last-page';

/** Parses one parameter in its canonical spelling, or throws a ValidationError naming it. */
export function parseParam(field: string, kind: ParamKind, raw: string): string | number {
  switch (kind) {
    case ParamKind.ID:
      if (ID.test(raw) && Number(raw) <= Number.MAX_SAFE_INTEGER) return Number(raw);
      throw new ValidationError(field, `${field} must be a positive integer no greater than ${Number.MAX_SAFE_INTEGER}, got ${JSON.stringify(raw.slice(0, 64))}`);
    case ParamKind.PAGE:
      if (ID.test(raw) && Number(raw) <= MAX_PAGE) return Number(raw);
      throw new ValidationError(field, `${field} must be an integer between 1 and ${MAX_PAGE}, got ${JSON.stringify(raw.slice(0, 64))}`);
    case ParamKind.SLUG:
      if (SLUG.test(raw)) return raw;
      throw new ValidationError(field, `${field} must be 1 to 64 lower-case letters, digits or hyphens, got ${JSON.stringify(raw.slice(0, 64))}`);
  }
}

/**
 * The canonical query string of `params` for the declared `query`: parameters sorted by name, values
 * in their canonical spelling (no percent-encoding is ever needed for the kinds above), and a
 * parameter equal to its default omitted. `''` when nothing remains.
 */
export function canonicalQuery(query: Readonly<Record<string, QueryParamSpec>>, params: ResourceParams): string {
  return Object.keys(query)
    .sort()
    .filter((name) => params[name] !== undefined && params[name] !== query[name].default)
    .map((name) => `${name}=${params[name]}`)
    .join('&');
}

/** True when a query parameter's declared default is a value a request could carry, in its canonical spelling. */
function isCanonicalDefault(name: string, spec: QueryParamSpec): boolean {
  try {
    return parseParam(name, spec.kind, String(spec.default)) === spec.default;
  } catch {
    return false;
  }
}

/** The props a declaration may hold: any other is refused (a misspelt `sharing` would otherwise leave the default). */
const SPEC_PROPS: ReadonlySet<string> = new Set(['name', 'path', 'params', 'query', 'sharing', 'subjectParam', 'ownerOf', 'ttl', 'staleWhileRevalidate', 'version', 'tags', 'loader', 'paging']);
const PARAM_KINDS: readonly string[] = Object.values(ParamKind);
const SHARINGS: readonly string[] = Object.values(Sharing);

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The checks of a declaration that its type states (a JavaScript caller, or a cast, gets past the
 * compiler): each message names the resource, the prop, the rule and the value received.
 */
function checkSpecShape(spec: ResourceSpec<unknown>): void {
  if (!isPlainObject(spec)) throw new RangeError(`defineResource: the declaration must be an object, got ${show(spec)}`);
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) throw new RangeError(`defineResource: \`name\` must match ${NAME}, got ${show(spec.name)}`);
  const where = `resource ${spec.name}`;
  for (const prop of Object.keys(spec)) {
    if (!SPEC_PROPS.has(prop)) throw new RangeError(`${where}: unknown prop \`${prop}\`; a declaration holds ${[...SPEC_PROPS].join(', ')}`);
  }
  if (typeof spec.path !== 'string') throw new RangeError(`${where}: \`path\` must be a string such as "/api/recipes/{id}", got ${show(spec.path)}`);
  if (spec.sharing === undefined) {
    throw new RangeError(`${where}: \`sharing\` is required (Sharing.PUBLIC: the same answer for everyone, cached at the edge; Sharing.PER_SUBJECT: one subject's data, never in a shared cache)`);
  }
  if (!SHARINGS.includes(spec.sharing)) throw new RangeError(`${where}: \`sharing\` must be one of ${SHARINGS.map((v) => JSON.stringify(v)).join(', ')} (Sharing), got ${show(spec.sharing)}`);
  if (spec.params !== undefined) {
    if (!isPlainObject(spec.params)) throw new RangeError(`${where}: \`params\` must be an object of parameter name to ParamKind, got ${show(spec.params)}`);
    for (const [name, kind] of Object.entries(spec.params)) {
      if (!PARAM_KINDS.includes(kind)) throw new RangeError(`${where}: \`params.${name}\` must be a ParamKind (${PARAM_KINDS.map((v) => JSON.stringify(v)).join(', ')}), got ${show(kind)}`);
    }
  }
  if (spec.query !== undefined) {
    if (!isPlainObject(spec.query)) throw new RangeError(`${where}: \`query\` must be an object of parameter name to { kind, default? }, got ${show(spec.query)}`);
    for (const [name, param] of Object.entries(spec.query)) {
      if (!isPlainObject(param) || !PARAM_KINDS.includes(param.kind as string)) {
        throw new RangeError(`${where}: \`query.${name}.kind\` must be a ParamKind (${PARAM_KINDS.map((v) => JSON.stringify(v)).join(', ')}), got ${show(isPlainObject(param) ? param.kind : param)}`);
      }
    }
  }
  const ttl: unknown = spec.ttl;
  if (!(isTtlSeconds(ttl) || (typeof ttl === 'string' && (Object.values(TtlClass) as string[]).includes(ttl)) || isDeclaredTtlClass(ttl))) {
    throw new RangeError(`${where}: \`ttl\` must be ${TTL_RULE}, got ${show(ttl)}`);
  }
  if (spec.staleWhileRevalidate !== undefined && typeof spec.staleWhileRevalidate !== 'boolean') {
    throw new RangeError(`${where}: \`staleWhileRevalidate\` must be a boolean, got ${show(spec.staleWhileRevalidate)}`);
  }
  for (const prop of ['version', 'tags', 'ownerOf'] as const) {
    if (spec[prop] !== undefined && typeof spec[prop] !== 'function') throw new RangeError(`${where}: \`${prop}\` must be a function of the value, got ${show(spec[prop])}`);
  }
  if (spec.paging !== undefined) {
    if (!isPlainObject(spec.paging)) throw new RangeError(`${where}: \`paging\` must be an object ({ pageParam, listTags }), got ${show(spec.paging)}`);
    for (const prop of Object.keys(spec.paging)) {
      if (!['pageParam', 'listTags'].includes(prop)) throw new RangeError(`${where}: unknown prop \`paging.${prop}\`; paging holds pageParam, listTags`);
    }
    if (typeof spec.paging.listTags !== 'function') throw new RangeError(`${where}: \`paging.listTags\` must be a function of the params, got ${show(spec.paging.listTags)}`);
  }
  if (spec.subjectParam !== undefined && typeof spec.subjectParam !== 'string') throw new RangeError(`${where}: \`subjectParam\` must be a path parameter name, got ${show(spec.subjectParam)}`);
  if (spec.loader !== undefined) {
    if (!isPlainObject(spec.loader)) throw new RangeError(`${where}: \`loader\` must be an object ({ softTimeoutMs?, hardTimeoutMs?, graceBackoffMs? }), got ${show(spec.loader)}`);
    for (const [name, value] of Object.entries(spec.loader)) {
      if (!['softTimeoutMs', 'hardTimeoutMs', 'graceBackoffMs'].includes(name)) throw new RangeError(`${where}: unknown prop \`loader.${name}\`; a loader policy holds softTimeoutMs, hardTimeoutMs, graceBackoffMs`);
      if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 900_000)) {
        throw new RangeError(`${where}: \`loader.${name}\` must be an integer between 1 and 900000 milliseconds, got ${show(value)}`);
      }
    }
  }
}

/**
 * Declares a resource and derives its route key, CloudFront pattern, matcher, key and CDN paths.
 * Every prop is checked here, also when called from plain JavaScript: a declaration that could not
 * be served throws a RangeError naming the resource, the prop, the rule and the value.
 */
export function defineResource<TValue>(spec: ResourceSpec<TValue>): Resource<TValue> {
  checkSpecShape(spec as ResourceSpec<unknown>);
  const where = `resource ${spec.name}`;
  if (!spec.path.startsWith('/') || spec.path.includes('?') || spec.path.includes('*')) {
    throw new RangeError(`${where}: path must start with / and hold no ? or *, got ${JSON.stringify(spec.path)}`);
  }
  const segments = spec.path.split('/').slice(1);
  const placeholders: string[] = [];
  for (const segment of segments) {
    const found = [...segment.matchAll(PLACEHOLDER)];
    if (found.length === 0) {
      if (!/^[A-Za-z0-9._~-]+$/.test(segment)) throw new RangeError(`${where}: path segment ${JSON.stringify(segment)} must be a literal or one {param}`);
      continue;
    }
    // A placeholder spanning the whole segment leaves no room for a second one.
    if (found[0][0] !== segment) throw new RangeError(`${where}: a {param} must be a whole path segment, got ${JSON.stringify(segment)}`);
    if (placeholders.includes(found[0][1])) throw new RangeError(`${where}: path parameter ${found[0][1]} appears twice`);
    placeholders.push(found[0][1]);
  }
  const paramKinds: Record<string, ParamKind> = {};
  for (const name of placeholders) paramKinds[name] = spec.params?.[name] ?? ParamKind.ID;
  for (const name of Object.keys(spec.params ?? {})) {
    if (!placeholders.includes(name)) throw new RangeError(`${where}: params.${name} is not a placeholder of ${spec.path}`);
  }
  const query = spec.query ?? {};
  const queryNames = Object.keys(query).sort();
  if (queryNames.length > 10) throw new RangeError(`${where}: at most 10 query parameters (a CloudFront cache key allow list), got ${queryNames.length}`);
  for (const name of queryNames) {
    if (!/^[a-z][A-Za-z0-9_]{0,31}$/.test(name)) throw new RangeError(`${where}: query parameter name must match /^[a-z][A-Za-z0-9_]{0,31}$/, got ${JSON.stringify(name)}`);
    if (placeholders.includes(name)) throw new RangeError(`${where}: ${name} is both a path and a query parameter`);
    const spec_ = query[name];
    if (spec_.default !== undefined && !isCanonicalDefault(name, spec_)) {
      throw new RangeError(`${where}: query.${name}.default must be a canonical ${spec_.kind}, got ${JSON.stringify(spec_.default)}`);
    }
  }
  if (spec.paging !== undefined && query[spec.paging.pageParam]?.kind !== ParamKind.PAGE) {
    throw new RangeError(`${where}: \`paging.pageParam\` must name a query parameter declared with ParamKind.PAGE, got ${show(spec.paging.pageParam)}`);
  }
  if (spec.paging !== undefined && spec.ownerOf !== undefined) {
    // The count is no value with an owner: it would tell anyone how long someone else's list is.
    throw new RangeError(`${where}: \`paging\` needs the list's owner in the path (subjectParam), not \`ownerOf\`, so that its length is told to that subject only`);
  }
  if (spec.sharing === Sharing.PER_SUBJECT) {
    if (spec.subjectParam === undefined && spec.ownerOf === undefined) throw new RangeError(`${where}: a per-subject resource needs subjectParam or ownerOf`);
    if (spec.subjectParam !== undefined && !placeholders.includes(spec.subjectParam)) {
      throw new RangeError(`${where}: subjectParam ${spec.subjectParam} is not a path parameter of ${spec.path}`);
    }
  } else if (spec.subjectParam !== undefined || spec.ownerOf !== undefined) {
    throw new RangeError(`${where}: subjectParam and ownerOf are for Sharing.PER_SUBJECT only`);
  }

  const matcher = new RegExp(`^${segments.map((s) => (s.startsWith('{') ? '([^/]+)' : s.replace(/[.]/g, '\\.'))).join('/').replace(/^/, '/')}$`);
  const pathPattern = derivePathPattern(segments);

  const keyParams = [...placeholders, ...queryNames];

  function parse(rawPath: string, rawQueryString: string): { params: ResourceParams; canonical: boolean } | undefined {
    const found = matcher.exec(rawPath);
    if (!found) return undefined;
    const params: Record<string, string | number | undefined> = {};
    placeholders.forEach((name, i) => (params[name] = parseParam(name, paramKinds[name], found[i + 1])));
    const seen = new Set<string>();
    for (const part of rawQueryString === '' ? [] : rawQueryString.split('&')) {
      const eq = part.indexOf('=');
      const name = decodeQueryComponent('query', eq < 0 ? part : part.slice(0, eq));
      if (!Object.prototype.hasOwnProperty.call(query, name)) {
        throw new ValidationError(name || 'query', `unknown query parameter ${JSON.stringify(name.slice(0, 64))} (${queryNames.length ? `accepted: ${queryNames.join(', ')}` : 'this resource accepts none'})`);
      }
      if (seen.has(name)) throw new ValidationError(name, `query parameter ${name} must be given at most once`);
      seen.add(name);
      // Equivalent mutant left to survive: "eq <= 0" (at eq = 0 the name is empty, which no declared parameter has, so this line is
      // not reached); a disable comment would also hide the killable "eq >= 0".
      params[name] = parseParam(name, query[name].kind, decodeQueryComponent(name, eq < 0 ? '' : part.slice(eq + 1)));
    }
    if (queryNames.length === 0) return { params, canonical: rawQueryString === '' };
    for (const name of queryNames) if (params[name] === undefined) params[name] = query[name].default;
    return { params, canonical: canonicalQuery(query, params) === rawQueryString };
  }

  function fill(params: ResourceParams): string {
    return spec.path.replace(PLACEHOLDER, (_all, name: string) => String(params[name]));
  }

  return {
    ...spec,
    routeKey: `GET ${spec.path}`,
    pathPattern,
    queryNames,
    match(rawPath, rawQueryString) {
      const parsed = parse(rawPath, rawQueryString);
      if (parsed && !parsed.canonical) {
        const canonical = canonicalQuery(query, parsed.params);
        throw new ValidationError('query', `the query string must be in its canonical form ${JSON.stringify(canonical)} (parameters sorted, defaults omitted), got ${JSON.stringify(rawQueryString.slice(0, 64))}`);
      }
      return parsed?.params;
    },
    matchesPath(rawPath) {
      return matcher.test(rawPath);
    },
    parse,
    key(keys, params) {
      const parts: string[] = [];
      for (const name of keyParams) parts.push(params[name] === undefined ? '_' : String(params[name]));
      return keys.resource(spec.name, parts);
    },
    lastPageKey(keys, params) {
      const pageParam = spec.paging?.pageParam;
      if (pageParam === undefined) throw new RangeError(`${where}: lastPageKey needs \`paging\`, which this resource does not declare`);
      const parts: string[] = [];
      for (const name of keyParams) parts.push(name === pageParam ? LAST_PAGE_KEY_PART : params[name] === undefined ? '_' : String(params[name]));
      return keys.resource(spec.name, parts);
    },
    canonicalUrl(params) {
      const q = canonicalQuery(query, params);
      return q === '' ? fill(params) : `${fill(params)}?${q}`;
    },
    cdnPaths(params) {
      if (spec.sharing !== Sharing.PUBLIC) return [];
      const q = canonicalQuery(query, params);
      return [q === '' ? fill(params) : `${fill(params)}?${q}`];
    },
  };
}

/** A query name or value with its percent-escapes (and `+` for a space) decoded; a malformed escape is a 400. */
function decodeQueryComponent(field: string, raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new ValidationError(field, `${field} holds a malformed percent-escape: ${JSON.stringify(raw.slice(0, 64))}`);
  }
}

/** `/api/products/{id}` → `/api/products/*`; `/api/products/{id}/reviews` → `/api/products/*\/reviews`. */
function derivePathPattern(segments: readonly string[]): string {
  return '/' + segments.map((s) => (s.startsWith('{') ? '*' : s)).join('/');
}
