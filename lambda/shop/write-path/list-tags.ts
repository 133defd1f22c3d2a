/**
 * Which cached product lists a product write must invalidate, without scanning the keyspace: every
 * list page a reader caches is added to a tag set per product it shows (`productListsTag(id)`) and
 * to its category's tag set (`categoryListsTag(slug)`, for a product moving into that category).
 *
 * The race this closes: a reader loads a page (old product data), a writer commits, looks up the
 * tags and invalidates them, and only then does the reader tag its page and cache it — the writer
 * never saw the page, which would stay stale for its whole TTL. So the loader tags BEFORE the page
 * is cached, and then checks each product's cache entry: a write tombstones its product with the
 * new version before it reads the tags, so either the writer sees the tag (and its invalidation
 * drops the reader's coalescing lock, so the fill is refused) or the reader sees the tombstone or
 * a newer entry (and reads the page again). Tag sets outlive the lists they name (list TTL plus the
 * stale window plus a margin); a dangling member only costs an UNLINK of a key that is gone.
 *
 * If Redis fails while tagging, the page is still served and may still be cached (a shard that
 * took the fill but not the tag): its staleness is then bounded by the list TTL.
 */
import { decodeEnvelope, type CacheClient, type Loaded, type Loader } from '../../runtime/cache';
import type { ProductPage } from '../repositories';
import type { CacheKeys } from '../../runtime/keys';
import { TtlClass, type TtlTable } from '../../runtime/ttl';

/** Times a page is read again when a product on it was written meanwhile. */
const MAX_LIST_READS = 3;

/** Tag sets live this much longer than the longest life of a list entry. */
const TAG_MARGIN_MS = 60_000;

export class ProductListTags {
  constructor(
    private readonly client: Pick<CacheClient, 'sadd' | 'smembers' | 'get'>,
    private readonly keys: CacheKeys,
    /** At least the longest a list entry can live in Redis: see {@link ProductListTags.ttlMsFor}. */
    private readonly tagTtlMs: number,
  ) {
    if (!Number.isFinite(tagTtlMs) || tagTtlMs < 1) throw new RangeError(`tagTtlMs must be a positive number of milliseconds, got ${tagTtlMs}`);
  }

  /** The tag TTL covering a list entry's soft TTL (with its +10 % jitter) and its stale window. */
  static ttlMsFor(ttls: TtlTable, staleTtlSeconds: number): number {
    return Math.ceil(ttls[TtlClass.PRODUCT_LIST] * 1.1 * 1000 + staleTtlSeconds * 1000 + TAG_MARGIN_MS);
  }

  /**
   * Tags `listKey` with the products of `page` and its category, then reports whether the page may
   * be cached: false when one of its products has since been written (its cache entry carries a
   * higher version, or a tombstone), so the caller reads the page again.
   */
  async track(listKey: string, page: ProductPage): Promise<boolean> {
    const tagging = page.items.map((item) => this.client.sadd(this.keys.productListsTag(item.id), [listKey], this.tagTtlMs));
    if (page.category !== null) tagging.push(this.client.sadd(this.keys.categoryListsTag(page.category), [listKey], this.tagTtlMs));
    await Promise.all(tagging);
    const entries = await Promise.all(page.items.map((item) => this.client.get(this.keys.product(item.id))));
    return entries.every((raw, i) => {
      const entry = decodeEnvelope(raw);
      // A value or a tombstone: either way, a version above the page's means a write the page missed.
      return !entry || entry.ver === undefined || entry.ver <= page.items[i].version;
    });
  }

  /** Every cached list key showing product `id`, plus every list key of `categories`. */
  async listsOf(id: number, categories: readonly string[] = []): Promise<string[]> {
    const sets = await Promise.all([this.client.smembers(this.keys.productListsTag(id)), ...categories.map((c) => this.client.smembers(this.keys.categoryListsTag(c)))]);
    return [...new Set(sets.flat())].sort();
  }
}

/**
 * The loader of one product list page: reads it, tags it, and reads it again (at most
 * {@link MAX_LIST_READS} times) while a product on it was written meanwhile. Tagging failures are
 * left to the list TTL (see the module comment); they never fail the read.
 */
export function trackedListLoader(
  tags: ProductListTags | undefined,
  listKey: string,
  load: () => Promise<ProductPage | null>,
  onTagError: (error: unknown) => void = () => undefined,
): Loader<ProductPage> {
  return async (): Promise<Loaded<ProductPage>> => {
    for (let read = 1; ; read++) {
      const page = await load();
      if (page === null) return null;
      if (!tags) return { value: page };
      const cacheable = await tags.track(listKey, page).catch((error: unknown) => {
        onTagError(error);
        return true;
      });
      if (cacheable || read >= MAX_LIST_READS) return { value: page };
    }
  };
}

/**
 * The CDN paths under which the API serves the list of `key`: the canonical query of the page and
 * its parameter-order variant, and the bare forms of page 1 (the defaults).
 */
export function listPaths(keys: CacheKeys, key: string): string[] {
  const list = keys.parseProductList(key);
  if (!list) return [];
  const { category, page } = list;
  if (category === undefined) return page === 1 ? ['/api/products', '/api/products?page=1'] : [`/api/products?page=${page}`];
  const paths = [`/api/products?category=${category}&page=${page}`, `/api/products?page=${page}&category=${category}`];
  if (page === 1) paths.unshift(`/api/products?category=${category}`);
  return paths;
}
