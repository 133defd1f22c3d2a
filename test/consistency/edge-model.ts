/**
 * A model of the CloudFront edge cache under OUR synthesized configuration: it reads the
 * distribution's behaviours (in order), their cache policies (managed or defined in the template)
 * and stores and keys responses the way CloudFront does under them:
 * - the first behaviour whose path pattern matches (`*` any run of characters, `?` one), else the default;
 * - cache key = path + the query strings and headers the policy includes (cookies: none in our policies);
 * - only GET/HEAD answers are stored; `private`, `no-store` and `no-cache` are not stored (MinTTL 0);
 * - TTL = `s-maxage`, else `max-age`, clamped to [MinTTL, MaxTTL]; DefaultTTL without either;
 * - `stale-while-revalidate`: past its TTL, an object is served stale within that window while
 *   it is refreshed; `stale-if-error`: served stale within that window when the origin fails (5xx);
 * - invalidation paths match the object's path and query exactly, or as a prefix when they end in `*`.
 * Invalidations apply when `CreateInvalidation` is accepted (CloudFront's own propagation time is
 * not modelled; it adds to the documented CDN bound the same way for both orderings).
 */
import { Template } from 'aws-cdk-lib/assertions';

/** AWS managed cache policies the template may name by id. */
const MANAGED_POLICIES: Readonly<Record<string, CachePolicy>> = {
  // Managed-CachingDisabled
  '4135ea2d-6df8-44a3-9df3-4b5a84be39ad': { name: 'Managed-CachingDisabled', minTtl: 0, defaultTtl: 0, maxTtl: 0, queryStrings: { behavior: 'none' }, headers: [] },
  // Managed-CachingOptimized
  '658327ea-f89d-4fab-a63d-7e88639e58f6': { name: 'Managed-CachingOptimized', minTtl: 1, defaultTtl: 86_400, maxTtl: 31_536_000, queryStrings: { behavior: 'none' }, headers: [] },
};

export interface CachePolicy {
  readonly name: string;
  /** Seconds. */
  readonly minTtl: number;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  readonly queryStrings: { readonly behavior: 'none' | 'all' | 'whitelist' | 'allExcept'; readonly names?: readonly string[] };
  /** Lower-case header names in the key. */
  readonly headers: readonly string[];
}

export interface EdgeBehaviour {
  /** `undefined` for the default behaviour. */
  readonly pathPattern?: string;
  readonly policy: CachePolicy;
}

export interface EdgeRequest {
  readonly method: string;
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface OriginResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface EdgeResponse extends OriginResponse {
  /** Whether the edge answered from its store (`hit`, `stale`) or went to the origin (`miss`, `pass`). */
  readonly edge: 'hit' | 'stale' | 'miss' | 'pass';
}

interface StoredObject {
  readonly url: string;
  readonly response: OriginResponse;
  readonly storedAt: number;
  readonly ttlMs: number;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** A CloudFront path pattern as a RegExp (`*` any characters, `?` one, case-sensitive, whole path). */
function patternRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped.startsWith('/') ? escaped : `/${escaped}`}$`);
}

function directives(cacheControl: string | undefined): Map<string, number | true> {
  const found = new Map<string, number | true>();
  for (const part of (cacheControl ?? '').split(',')) {
    const [name, value] = part.trim().toLowerCase().split('=');
    if (!name) continue;
    found.set(name, value === undefined ? true : Number(value));
  }
  return found;
}

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

export class EdgeCacheModel {
  private readonly store = new Map<string, StoredObject>();
  /** Requests the edge answered from its store, and those it sent to the origin. */
  readonly counts = { hits: 0, stale: 0, misses: 0, passes: 0, invalidatedObjects: 0 };

  constructor(
    readonly behaviours: readonly EdgeBehaviour[],
    readonly defaultBehaviour: EdgeBehaviour,
  ) {}

  /** The edge as the template's only distribution configures it. */
  static fromTemplate(template: Template): EdgeCacheModel {
    const resources = (template.toJSON() as { Resources: Record<string, TemplateResource> }).Resources;
    const distributions = Object.values(resources).filter((r) => r.Type === 'AWS::CloudFront::Distribution');
    if (distributions.length !== 1) throw new Error(`expected one distribution in the template, found ${distributions.length}`);
    const config = distributions[0].Properties.DistributionConfig as Json;
    const policyOf = (ref: unknown): CachePolicy => {
      if (typeof ref === 'string') {
        const managed = MANAGED_POLICIES[ref];
        if (!managed) throw new Error(`unknown managed cache policy ${ref}: add it to the edge model`);
        return managed;
      }
      const logicalId = (ref as { Ref?: string }).Ref;
      const resource = logicalId ? resources[logicalId] : undefined;
      if (!resource || resource.Type !== 'AWS::CloudFront::CachePolicy') throw new Error(`cache policy ${JSON.stringify(ref)} is not in the template`);
      const c = resource.Properties.CachePolicyConfig as Json;
      const params = c.ParametersInCacheKeyAndForwardedToOrigin as Json;
      const qs = params.QueryStringsConfig as { QueryStringBehavior: string; QueryStrings?: string[] };
      const hs = params.HeadersConfig as { HeaderBehavior: string; Headers?: string[] };
      const cookies = (params.CookiesConfig as { CookieBehavior: string }).CookieBehavior;
      if (cookies !== 'none') throw new Error(`cache policy ${logicalId} keys on cookies (${cookies}); the edge model does not`);
      return {
        name: String(c.Name),
        minTtl: Number(c.MinTTL),
        defaultTtl: Number(c.DefaultTTL),
        maxTtl: Number(c.MaxTTL),
        queryStrings: { behavior: qs.QueryStringBehavior as CachePolicy['queryStrings']['behavior'], names: qs.QueryStrings },
        headers: hs.HeaderBehavior === 'none' ? [] : (hs.Headers ?? []).map((h) => h.toLowerCase()),
      };
    };
    const behaviours = ((config.CacheBehaviors as Json[] | undefined) ?? []).map((b) => ({ pathPattern: String(b.PathPattern), policy: policyOf(b.CachePolicyId) }));
    const defaultBehaviour = { policy: policyOf((config.DefaultCacheBehavior as Json).CachePolicyId) };
    return new EdgeCacheModel(behaviours, defaultBehaviour);
  }

  /** The behaviour serving `path`: the first whose pattern matches, in order, else the default. */
  behaviourFor(path: string): EdgeBehaviour {
    return this.behaviours.find((b) => patternRegExp(b.pathPattern!).test(path)) ?? this.defaultBehaviour;
  }

  /** The cache key of a request under its behaviour's policy. */
  cacheKey(request: EdgeRequest): string {
    const { policy } = this.behaviourFor(request.path);
    const pairs = (request.query ?? '').split('&').filter(Boolean);
    const name = (pair: string) => decodeURIComponent(pair.split('=')[0]);
    const kept =
      policy.queryStrings.behavior === 'all'
        ? pairs
        : policy.queryStrings.behavior === 'whitelist'
          ? pairs.filter((p) => policy.queryStrings.names!.includes(name(p)))
          : policy.queryStrings.behavior === 'allExcept'
            ? pairs.filter((p) => !policy.queryStrings.names!.includes(name(p)))
            : [];
    const headers = policy.headers.map((h) => `${h}:${header(request.headers ?? {}, h) ?? ''}`);
    return [this.urlOf(request.path, kept.join('&')), ...headers].join('\n');
  }

  /**
   * Answers `request` at time `now` (ms): from the store when fresh (or stale within its windows),
   * else from `origin`, storing what the policy lets it store.
   */
  async request(request: EdgeRequest, now: number, origin: () => Promise<OriginResponse>): Promise<EdgeResponse> {
    const cacheable = request.method === 'GET' || request.method === 'HEAD';
    if (!cacheable) {
      this.counts.passes += 1;
      return { ...(await origin()), edge: 'pass' };
    }
    const key = this.cacheKey(request);
    const stored = this.store.get(key);
    if (stored) {
      const age = now - stored.storedAt;
      if (age < stored.ttlMs) {
        this.counts.hits += 1;
        return { ...stored.response, edge: 'hit' };
      }
      if (age < stored.ttlMs + stored.staleWhileRevalidateMs) {
        // Served stale now; the refresh runs after the answer, as CloudFront's asynchronous revalidation does.
        this.counts.stale += 1;
        const answer: EdgeResponse = { ...stored.response, edge: 'stale' };
        await this.fetchAndStore(key, request, now, origin).catch(() => undefined);
        return answer;
      }
    }
    this.counts.misses += 1;
    let fetched: OriginResponse;
    try {
      fetched = await this.fetchAndStore(key, request, now, origin);
    } catch (error) {
      if (stored && now - stored.storedAt < stored.ttlMs + stored.staleIfErrorMs) return { ...stored.response, edge: 'stale' };
      throw error;
    }
    if (fetched.statusCode >= 500 && stored && now - stored.storedAt < stored.ttlMs + stored.staleIfErrorMs) {
      return { ...stored.response, edge: 'stale' };
    }
    return { ...fetched, edge: 'miss' };
  }

  /** Removes every stored object an invalidation path names; returns how many. */
  invalidate(paths: readonly string[]): number {
    let removed = 0;
    for (const [key, object] of this.store) {
      const match = paths.some((path) => (path.endsWith('*') ? object.url.startsWith(path.slice(0, -1)) : object.url === path));
      if (match) {
        this.store.delete(key);
        removed += 1;
      }
    }
    this.counts.invalidatedObjects += removed;
    return removed;
  }

  /** Objects currently stored. */
  get size(): number {
    return this.store.size;
  }

  private urlOf(path: string, query: string): string {
    return query === '' ? path : `${path}?${query}`;
  }

  private async fetchAndStore(key: string, request: EdgeRequest, now: number, origin: () => Promise<OriginResponse>): Promise<OriginResponse> {
    const response = await origin();
    const ttl = this.ttlOf(request.path, response);
    if (ttl !== undefined && ttl.ttlMs > 0) {
      const url = key.split('\n')[0];
      this.store.set(key, { url, response, storedAt: now, ...ttl });
    } else if (response.statusCode < 500) {
      this.store.delete(key);
    }
    return response;
  }

  /** How long the policy keeps `response`, or undefined when it may not store it at all. */
  private ttlOf(path: string, response: OriginResponse): Omit<StoredObject, 'url' | 'response' | 'storedAt'> | undefined {
    const { policy } = this.behaviourFor(path);
    if (response.statusCode >= 500) return undefined;
    const cc = directives(header(response.headers, 'cache-control'));
    const refuses = cc.has('private') || cc.has('no-store') || cc.has('no-cache');
    if (refuses && policy.minTtl === 0) return undefined;
    const given = cc.get('s-maxage') ?? cc.get('max-age');
    const seconds = typeof given === 'number' ? Math.min(Math.max(given, policy.minTtl), policy.maxTtl) : policy.defaultTtl;
    const swr = cc.get('stale-while-revalidate');
    const sie = cc.get('stale-if-error');
    return {
      ttlMs: seconds * 1000,
      staleWhileRevalidateMs: typeof swr === 'number' ? swr * 1000 : 0,
      staleIfErrorMs: typeof sie === 'number' ? sie * 1000 : 0,
    };
  }
}
