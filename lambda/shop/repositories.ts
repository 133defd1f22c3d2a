/**
 * Read access to the origin, returning exactly the shapes the API serves and the cache stores.
 *
 * Every query names its columns: the cached user summary is a projection that cannot pick up
 * `password_hash`, `mfa_secret` or `email`, whatever columns the table gains later.
 */
import type { QueryResult, QueryResultRow } from 'pg';
import { isLostConnection, toOriginError } from 'cache-pyramid/runtime';

/** What the repositories need from a pool (a `pg.Pool` fits; tests may wrap one to count queries). */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** Products per page of `GET /api/products`. */
export const PRODUCT_PAGE_SIZE = 20;

export interface Product {
  readonly id: number;
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  /** Category slug. */
  readonly category: string;
  readonly priceCents: number;
  readonly stock: number;
  /** Row version, bumped by every update; stamped into the cache envelope. */
  readonly version: number;
  readonly updatedAt: string;
}

/** A product as listed: everything but the description. */
export type ProductListItem = Omit<Product, 'description'>;

export interface ProductPage {
  /** The category filtered on, or null for every product. */
  readonly category: string | null;
  /** 1-based. */
  readonly page: number;
  readonly pageSize: number;
  /** Ordered by id, so a page holds the same products until the data changes. */
  readonly items: ProductListItem[];
  /** True when a later page has at least one product. */
  readonly hasMore: boolean;
}

/** The public, cacheable projection of a user. */
export interface UserSummary {
  readonly id: number;
  readonly displayName: string;
  readonly bio: string;
  readonly avatarUrl: string | null;
  /** `profile_version`: the version of the last applied profile change. */
  readonly version: number;
}

/** Every row of the `config` table as one object (`key` → JSON `value`). */
export type AppConfig = Record<string, unknown>;

export interface OrderItem {
  readonly productId: number;
  readonly quantity: number;
  /** The product's price when the order was placed. */
  readonly unitPriceCents: number;
}

export interface Order {
  readonly id: number;
  readonly userId: number;
  readonly status: string;
  readonly totalCents: number;
  readonly createdAt: string;
  /** Ordered by product id. */
  readonly items: OrderItem[];
}

export interface RepositoryOptions {
  /** `Retry-After` proposed when PostgreSQL is unavailable. @default 5 */
  readonly retryAfterSeconds?: number;
}

/** A bigint column as a JavaScript number; ids and versions beyond 2^53 would silently lose digits. */
function safeInteger(value: string | number, column: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${column} ${value} is beyond Number.MAX_SAFE_INTEGER`);
  return n;
}

abstract class Repository {
  private readonly retryAfterSeconds: number;

  constructor(
    private readonly db: Queryable,
    options: RepositoryOptions = {},
  ) {
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
  }

  /**
   * Runs a read-only query. A connection found dead on first use (a Lambda sandbox thawed after
   * the server closed its socket) is retried once on a fresh one; anything meaning "PostgreSQL
   * cannot answer" becomes an OriginUnavailableError.
   */
  protected async read<R extends QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.db.query<R>(text, values)).rows;
    } catch (first) {
      if (!isLostConnection(first)) throw toOriginError(first, this.retryAfterSeconds);
      try {
        return (await this.db.query<R>(text, values)).rows;
      } catch (second) {
        throw toOriginError(second, this.retryAfterSeconds);
      }
    }
  }
}

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description?: string;
  category: string;
  price_cents: number;
  stock: number;
  version: string;
  updated_at: Date;
}

const PRODUCT_LIST_COLUMNS = 'p.id, p.sku, p.name, c.slug as category, p.price_cents, p.stock, p.version, p.updated_at';

function toListItem(row: ProductRow): ProductListItem {
  return {
    id: safeInteger(row.id, 'products.id'),
    sku: row.sku,
    name: row.name,
    category: row.category,
    priceCents: row.price_cents,
    stock: row.stock,
    version: safeInteger(row.version, 'products.version'),
    updatedAt: row.updated_at.toISOString(),
  };
}

export class ProductRepository extends Repository {
  /** The product, or null when no product has this id. */
  async findById(id: number): Promise<Product | null> {
    const rows = await this.read<ProductRow>(
      `select ${PRODUCT_LIST_COLUMNS}, p.description
         from products p join categories c on c.id = p.category_id
        where p.id = $1`,
      [id],
    );
    if (rows.length === 0) return null;
    const item = toListItem(rows[0]);
    return { id: item.id, sku: item.sku, name: item.name, description: rows[0].description ?? '', category: item.category, priceCents: item.priceCents, stock: item.stock, version: item.version, updatedAt: item.updatedAt };
  }

  /**
   * One page of products ordered by id, optionally of one category (by slug). Null when the
   * category does not exist, so that the API can answer 404 rather than an empty list forever.
   */
  async listPage(category: string | undefined, page: number): Promise<ProductPage | null> {
    const offset = (page - 1) * PRODUCT_PAGE_SIZE;
    const limit = PRODUCT_PAGE_SIZE + 1;
    const rows =
      category === undefined
        ? await this.read<ProductRow>(
            `select ${PRODUCT_LIST_COLUMNS}
               from products p join categories c on c.id = p.category_id
              order by p.id limit $1 offset $2`,
            [limit, offset],
          )
        : await this.read<ProductRow>(
            `select ${PRODUCT_LIST_COLUMNS}
               from products p join categories c on c.id = p.category_id
              where p.category_id = (select id from categories where slug = $1)
              order by p.id limit $2 offset $3`,
            [category, limit, offset],
          );
    if (rows.length === 0 && category !== undefined) {
      const known = await this.read<{ one: number }>('select 1 as one from categories where slug = $1', [category]);
      if (known.length === 0) return null;
    }
    return {
      category: category ?? null,
      page,
      pageSize: PRODUCT_PAGE_SIZE,
      items: rows.slice(0, PRODUCT_PAGE_SIZE).map(toListItem),
      hasMore: rows.length > PRODUCT_PAGE_SIZE,
    };
  }

  /**
   * The number of the last page of a listing (1 when it is empty: its page 1 still answers), or null
   * when the category does not exist. One count over `products_category_idx`, cached by the API with
   * the listing's tag, so that no page past it costs an `OFFSET` scan.
   */
  async lastPage(category: string | undefined): Promise<number | null> {
    const rows =
      category === undefined
        ? await this.read<{ n: string }>('select count(*) as n from products', [])
        : await this.read<{ n: string }>('select (select count(*) from products p where p.category_id = c.id) as n from categories c where c.slug = $1', [category]);
    if (rows.length === 0) return null;
    return Math.max(1, Math.ceil(safeInteger(rows[0].n, 'count(products)') / PRODUCT_PAGE_SIZE));
  }
}

export class UserRepository extends Repository {
  /** The user's public summary, or null when no user has this id. */
  async findSummary(id: number): Promise<UserSummary | null> {
    const rows = await this.read<{ id: string; display_name: string; bio: string; avatar_url: string | null; profile_version: string }>(
      'select id, display_name, bio, avatar_url, profile_version from users where id = $1',
      [id],
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    return {
      id: safeInteger(row.id, 'users.id'),
      displayName: row.display_name,
      bio: row.bio,
      avatarUrl: row.avatar_url,
      version: safeInteger(row.profile_version, 'users.profile_version'),
    };
  }
}

/** A UUID in its canonical lower-case spelling, as Cognito writes `sub`. */
const SUBJECT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Subjects whose user id a process remembers (a link never changes, so an entry never goes stale). */
const KNOWN_SUBJECTS_MAX = 10_000;

/**
 * Who a verified token names: the identity provider's `sub` (a UUID) is linked to a user row by
 * `users.subject`, and the user's numeric id stays the key of every resource. A process remembers
 * the links it has found, so a signed-in user costs one lookup per process, not one per request.
 */
export class UserIdentityRepository extends Repository {
  private readonly known = new Map<string, number>();

  /** The id of the user `subject` signs in as; undefined when no user is linked to it or it is not a UUID. */
  async userIdOf(subject: string): Promise<number | undefined> {
    const canonical = subject.toLowerCase();
    if (!SUBJECT.test(canonical)) return undefined;
    const remembered = this.known.get(canonical);
    if (remembered !== undefined) return remembered;
    const rows = await this.read<{ id: string }>('select id from users where subject = $1', [canonical]);
    if (rows.length === 0) return undefined;
    const id = safeInteger(rows[0].id, 'users.id');
    if (this.known.size >= KNOWN_SUBJECTS_MAX) this.known.delete(this.known.keys().next().value!);
    this.known.set(canonical, id);
    return id;
  }
}

export class ConfigRepository extends Repository {
  /** Every config row as one object, keys in order. */
  async load(): Promise<AppConfig> {
    const rows = await this.read<{ key: string; value: unknown }>('select key, value from config order by key', []);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }
}
