/**
 * `PUT /api/products/{id}` — cache-aside write: update PostgreSQL first, with optimistic
 * concurrency on `products.version`, then take the old value out of every cache layer.
 *
 * After the commit, every key and CDN path comes from the declarations (lambda/shop/resources.ts):
 * 1. the tags the write changes are purged (`TagIndex.invalidate`): `product:<id>` — the product's
 *    entry and every cached list page showing it — and, on a category move, `category:<old>` and
 *    `category:<new>`, because every page of both categories shifts. Their keys are unlinked with
 *    their coalescing locks (a fill in flight is refused), a reader whose origin read began before
 *    the purge cannot cache what it read (see cache/tag-index.ts), and this process's L1 drops them;
 * 2. the product key is replaced by a short-lived tombstone carrying the new version. A plain delete
 *    is not enough: a reader that loaded the old row just before the commit would write it back
 *    after the delete. The tombstone refuses any fill of an older version (ReadThroughCache.tombstone).
 *    It comes after step 1, whose purge unlinks the product's entry too;
 * 3. a `CacheInvalidation` event names the CDN paths of the product and of everything the tags
 *    named, so the edge drops them too. When step 1 or 2 failed (Redis down or failing over), the
 *    event also carries the tags (the Redis purge reports their paths) or the product key, and every
 *    list path by wildcard: the purge pipeline retries them until Redis answers, then dead-letters
 *    them — never silently drops them.
 *
 * With Redis down the write still commits; the stale product entry cannot outlive its TTL (every
 * entry has one: soft TTL + stale window), the purge pipeline usually removes it much sooner, and
 * other processes' L1 copies live at most the L1 TTL. If publishing fails, the CDN copy lives at
 * most its `max-age`, which the API derives from the same TTL.
 */
import { checkStorableText, ConflictError, NotFoundError, ValidationError, type CacheKeys, type InvalidationPublisher, type ReadThroughCache, type TagIndex, type TagInvalidation } from 'cache-pyramid/runtime';
import type { Product, Queryable } from '../repositories';
import { categoryTag, product as productResource, productList, productTag } from '../resources';
import { hasControlCharacters } from '../write-behind/profile-change';

/** The editable representation of a product: PUT replaces all of it. */
export interface ProductUpdate {
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly stock: number;
  /** Category slug. */
  readonly category: string;
  /** The version the client read; the write is refused (409) if the product has moved on. */
  readonly version: number;
}

export const PRODUCT_LIMITS = { nameMaxChars: 200, descriptionMaxChars: 5000, maxInt: 2_147_483_647 } as const;

const FIELDS = ['name', 'description', 'priceCents', 'stock', 'category', 'version'] as const;
/**
 * Fields of the representation `GET /api/products/{id}` answers that a client cannot change: a PUT
 * may carry them back unchanged (GET → modify one field → PUT), `id` must then name the product of
 * the path, and `sku`/`updatedAt` are ignored (the server owns them).
 */
const READ_ONLY_FIELDS = ['id', 'sku', 'updatedAt'] as const;
const CATEGORY_SLUG = /^[a-z0-9-]{1,64}$/;

function nonNegativeInt(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new ValidationError(field, `${field} must be an integer between 0 and ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The PUT body, or a ValidationError naming the first offending field. The body may be the product
 * as GET answers it: read-only fields are accepted (`id` only when it equals `pathId`) and ignored.
 */
export function parseProductUpdate(input: unknown, pathId?: number): ProductUpdate {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError('body', 'body must be a JSON object');
  const body = input as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if ((READ_ONLY_FIELDS as readonly string[]).includes(key)) continue;
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new ValidationError(key, `unknown field ${JSON.stringify(key)}; allowed: ${FIELDS.join(', ')} (and, ignored, the read-only ${READ_ONLY_FIELDS.join(', ')})`);
    }
  }
  if ('id' in body && body.id !== pathId) {
    throw new ValidationError('id', `id is read-only and must be the id of the path (${pathId ?? 'none'}), got ${JSON.stringify(body.id)}`);
  }
  for (const field of FIELDS) {
    if (!(field in body)) throw new ValidationError(field, `${field} is required (PUT replaces the whole product)`);
  }
  const { name, description, category } = body;
  if (typeof name !== 'string' || name.trim() === '' || name.length > PRODUCT_LIMITS.nameMaxChars || hasControlCharacters(name)) {
    throw new ValidationError('name', `name must be a non-blank string of at most ${PRODUCT_LIMITS.nameMaxChars} characters without control characters`);
  }
  if (typeof description !== 'string' || description.length > PRODUCT_LIMITS.descriptionMaxChars || description.includes('\u0000')) {
    throw new ValidationError('description', `description must be a string of at most ${PRODUCT_LIMITS.descriptionMaxChars} characters`);
  }
  checkStorableText('name', name);
  checkStorableText('description', description);
  if (typeof category !== 'string' || !CATEGORY_SLUG.test(category)) {
    throw new ValidationError('category', `category must be a slug of 1 to 64 lower-case letters, digits or hyphens, got ${JSON.stringify(category)}`);
  }
  const version = body.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new ValidationError('version', `version must be the positive integer version you read, got ${JSON.stringify(version)}`);
  }
  return {
    name,
    description,
    category,
    version,
    priceCents: nonNegativeInt('priceCents', body.priceCents, PRODUCT_LIMITS.maxInt),
    stock: nonNegativeInt('stock', body.stock, PRODUCT_LIMITS.maxInt),
  };
}

/** What the write did to the caches, for the response log and the tests. */
export interface ProductInvalidation {
  /** The tombstone (or the product key's removal) reached Redis. */
  readonly tombstoned: boolean;
  /** The tags purged from Redis: the product's own, and on a category move both categories'. */
  readonly tags: readonly string[];
  /** The tags were purged here (false: the event names them for the purge pipeline). */
  readonly tagsPurged: boolean;
  /** The CDN paths the event names. */
  readonly paths: readonly string[];
  /** The CacheInvalidation event was published. */
  readonly published: boolean;
}

export interface ProductWriterDependencies {
  readonly db: Queryable;
  readonly cache: Pick<ReadThroughCache, 'tombstone' | 'invalidate' | 'forgetTagged'>;
  readonly keys: CacheKeys;
  /** Purges the write's tags; without it (no Redis at all) the event names the tags for the purge pipeline. */
  readonly tagIndex?: Pick<TagIndex, 'invalidate'>;
  readonly publisher: InvalidationPublisher;
  /** Failures after the commit are logged here; they never fail the write. @default - not logged */
  readonly log?: { warn(message: string, attributes: Record<string, unknown>): void; error(message: string, attributes: Record<string, unknown>): void };
}

interface UpdateRow {
  current_version: string | null;
  previous_category: string | null;
  category_exists: boolean;
  id: string | null;
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  stock: number;
  version: string;
  updated_at: Date;
}

/** One statement: the update (if the version matches and the category exists) and what to say if it did not apply. */
const UPDATE_SQL = `
with target as (
  select p.id, p.version, c.slug as category from products p join categories c on c.id = p.category_id where p.id = $1
),
wanted as (select id from categories where slug = $6),
updated as (
  update products p
     set name = $2, description = $3, price_cents = $4, stock = $5, category_id = (select id from wanted),
         version = p.version + 1, updated_at = now()
   where p.id = $1 and p.version = $7 and exists (select 1 from wanted)
  returning p.id, p.sku, p.name, p.description, p.price_cents, p.stock, p.version, p.updated_at
)
select (select version from target) as current_version,
       (select category from target) as previous_category,
       exists (select 1 from wanted) as category_exists,
       u.*
  from (select 1) as one
  left join updated u on true`;

/** Updates product `id` and invalidates it everywhere; throws NotFound (404), Validation (400) or Conflict (409). */
export async function updateProduct(deps: ProductWriterDependencies, id: number, update: ProductUpdate): Promise<{ product: Product; invalidation: ProductInvalidation }> {
  const { rows } = await deps.db.query<UpdateRow>(UPDATE_SQL, [id, update.name, update.description, update.priceCents, update.stock, update.category, update.version]);
  const row = rows[0];
  if (row.current_version === null) throw new NotFoundError(`product ${id} does not exist`);
  if (!row.category_exists) throw new ValidationError('category', `category ${JSON.stringify(update.category)} does not exist`);
  if (row.id === null) {
    throw new ConflictError(`product ${id} was changed by someone else: you sent version ${update.version}, it is at version ${row.current_version} or later; read it again and retry`);
  }
  const product: Product = {
    id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: update.category,
    priceCents: row.price_cents,
    stock: row.stock,
    version: Number(row.version),
    updatedAt: row.updated_at.toISOString(),
  };
  // A move changes the pages of both categories: the new one gains the product, and in the old one
  // every page from the product's on shifts by one (a later page keeps showing a product that moved
  // up, and loses one), not only the pages that listed the product.
  const moved = row.previous_category !== null && row.previous_category !== update.category ? [update.category, row.previous_category] : [];
  return { product, invalidation: await invalidateProduct(deps, product, moved) };
}

/** The tags a product write changes: its own (its entry and every page showing it), then the categories it moved between. */
function productWriteTags(id: number, movedBetween: readonly string[]): string[] {
  return [productTag(id), ...movedBetween.map(categoryTag)];
}

async function invalidateProduct(deps: ProductWriterDependencies, product: Product, movedBetween: readonly string[]): Promise<ProductInvalidation> {
  const { keys, log } = deps;
  const params = { id: product.id };
  const productKey = productResource.key(keys, params);
  const tags = productWriteTags(product.id, movedBetween);
  let tagged: TagInvalidation | undefined;
  if (deps.tagIndex) {
    try {
      tagged = await deps.tagIndex.invalidate(tags);
    } catch (error) {
      log?.warn('product written but its tags not purged; the purge pipeline retries', { productId: product.id, tags, error: String(error) });
    }
  }
  // Already unreadable in Redis; this drops this process's L1 copies carrying the tags, named by the
  // sets or not (another instance's write may have taken a page out of them), and, with the bus, every other's.
  await deps.cache.forgetTagged(tags, tagged?.keys).catch((error: unknown) => log?.warn('tagged keys purged from Redis but not from L1; they expire with the L1 TTL', { productId: product.id, error: String(error) }));
  // After the tag purge, which unlinks the product's own entry with the rest.
  let tombstoned = true;
  try {
    await deps.cache.tombstone(productKey, product.version);
  } catch (error) {
    tombstoned = false;
    log?.warn('product written but its cache entry not tombstoned; the purge pipeline retries', { key: productKey, error: String(error) });
  }
  // Without the tag sets (not purged, or evicted) the affected pages are unknown: every list, at the edge.
  const listPaths = tagged && tagged.unknownTags.length === 0 ? tagged.cdnPaths : [...(tagged?.cdnPaths ?? []), productList.path, `${productList.path}?*`];
  const paths = [...new Set([...productResource.cdnPaths(params), ...listPaths])];
  let published = true;
  try {
    await deps.publisher.publishInvalidation({
      paths,
      ...(tombstoned ? {} : { keys: [productKey] }),
      ...(tagged ? {} : { tags }),
      reason: `product ${product.id} updated to version ${product.version}`,
    });
  } catch (error) {
    published = false;
    log?.error('product written but the CacheInvalidation event not published; the CDN copy lives until its max-age', { productId: product.id, error: String(error) });
  }
  return { tombstoned, tags, tagsPurged: tagged !== undefined, paths, published };
}
