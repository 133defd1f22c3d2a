/**
 * `POST /api/orders` — write-through: the order and its items are inserted by one statement (one
 * transaction, one round trip), then stored in the cache in the same request, so the first
 * `GET /api/orders/{id}` (the declared `order` resource) is served from the cache. The cached order is exactly what PostgreSQL
 * returns (items ordered by product id, prices as charged), so the cache and the database hold the
 * same representation whichever of them answers.
 *
 * If the cache store fails, the order still exists and 201 is answered: reads fall back to
 * PostgreSQL. A negative entry left by an earlier read of the same id is overwritten by the store
 * (write-through is authoritative), and otherwise expires after the not-found TTL.
 */
import { ForbiddenError, ValidationError, type CacheKeys, type ReadThroughCache } from 'cache-pyramid/runtime';
import type { Order, OrderItem, Queryable } from '../repositories';
import { order as orderResource } from '../resources';
import { checkId } from '../write-behind/profile-change';

export type { Order, OrderItem };

export interface NewOrder {
  readonly items: readonly { readonly productId: number; readonly quantity: number }[];
}

export const ORDER_LIMITS = { maxItems: 50, maxQuantity: 1000 } as const;

/** The POST body, or a ValidationError naming the offending field (`items[2].quantity`). */
export function parseNewOrder(input: unknown): NewOrder {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError('body', 'body must be a JSON object');
  for (const key of Object.keys(input)) {
    if (key !== 'items') throw new ValidationError(key, `unknown field ${JSON.stringify(key)}; allowed: items`);
  }
  const items = (input as { items?: unknown }).items;
  if (!Array.isArray(items) || items.length === 0 || items.length > ORDER_LIMITS.maxItems) {
    throw new ValidationError('items', `items must be an array of 1 to ${ORDER_LIMITS.maxItems} items`);
  }
  const seen = new Set<number>();
  const parsed = items.map((item: unknown, i) => {
    const at = `items[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new ValidationError(at, `${at} must be an object`);
    for (const key of Object.keys(item)) {
      if (key !== 'productId' && key !== 'quantity') throw new ValidationError(`${at}.${key}`, `unknown field ${JSON.stringify(key)}; allowed: productId, quantity`);
    }
    const { productId, quantity } = item as { productId?: unknown; quantity?: unknown };
    const id = checkId(`${at}.productId`, productId);
    if (seen.has(id)) throw new ValidationError(`${at}.productId`, `product ${id} appears twice; give one item per product with its quantity`);
    seen.add(id);
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > ORDER_LIMITS.maxQuantity) {
      throw new ValidationError(`${at}.quantity`, `${at}.quantity must be an integer between 1 and ${ORDER_LIMITS.maxQuantity}, got ${JSON.stringify(quantity)}`);
    }
    return { productId: id, quantity };
  });
  return { items: parsed };
}

interface OrderRow {
  id: string;
  user_id: string;
  status: string;
  total_cents: string;
  created_at: Date;
  items: OrderItem[];
}

function toOrder(row: OrderRow): Order {
  return { id: Number(row.id), userId: Number(row.user_id), status: row.status, totalCents: Number(row.total_cents), createdAt: row.created_at.toISOString(), items: row.items };
}

const ITEMS_JSON = `json_build_object('productId', i.product_id, 'quantity', i.quantity, 'unitPriceCents', i.unit_price_cents)`;

const CREATE_SQL = `
with wanted as (
  select * from jsonb_to_recordset($2::jsonb) as w(ord int, product_id bigint, quantity int)
),
priced as (
  select w.ord, w.product_id, w.quantity, p.price_cents from wanted w join products p on p.id = w.product_id
),
buyer as (select id from users where id = $1),
new_order as (
  insert into orders (user_id, total_cents)
  select b.id, (select coalesce(sum(p.price_cents::bigint * p.quantity), 0) from priced p)
    from buyer b
   where (select count(*) from priced) = (select count(*) from wanted)
  returning id, user_id, status, total_cents, created_at
),
inserted as (
  insert into order_items (order_id, product_id, quantity, unit_price_cents)
  select o.id, p.product_id, p.quantity, p.price_cents from new_order o cross join priced p
  returning product_id, quantity, unit_price_cents
)
select exists (select 1 from buyer) as buyer_exists,
       (select coalesce(json_agg(w.ord order by w.ord), '[]') from wanted w where not exists (select 1 from priced p where p.ord = w.ord)) as missing,
       o.id, o.user_id, o.status, o.total_cents, o.created_at,
       (select coalesce(json_agg(${ITEMS_JSON} order by i.product_id), '[]') from inserted i) as items
  from (select 1) as one
  left join new_order o on true`;

const FIND_SQL = `
select o.id, o.user_id, o.status, o.total_cents, o.created_at,
       (select coalesce(json_agg(${ITEMS_JSON} order by i.product_id), '[]') from order_items i where i.order_id = o.id) as items
  from orders o
 where o.id = $1`;

export class OrderStore {
  constructor(private readonly db: Queryable) {}

  /** Inserts the order and its items atomically, priced from `products`. Throws ValidationError for an unknown product. */
  async create(userId: number, order: NewOrder): Promise<Order> {
    const wanted = order.items.map((item, ord) => ({ ord, product_id: item.productId, quantity: item.quantity }));
    const { rows } = await this.db.query<OrderRow & { buyer_exists: boolean; missing: number[] }>(CREATE_SQL, [userId, JSON.stringify(wanted)]);
    const row = rows[0];
    if (!row.buyer_exists) throw new ForbiddenError(`the token's subject ${userId} is not a user`);
    if (row.missing.length > 0) {
      const i = row.missing[0];
      throw new ValidationError(`items[${i}].productId`, `product ${order.items[i].productId} does not exist`);
    }
    return toOrder(row);
  }

  async findById(id: number): Promise<Order | null> {
    const { rows } = await this.db.query<OrderRow>(FIND_SQL, [id]);
    return rows.length === 0 ? null : toOrder(rows[0]);
  }
}

export interface OrderDependencies {
  readonly store: OrderStore;
  readonly cache: Pick<ReadThroughCache, 'put'>;
  readonly keys: CacheKeys;
  readonly log?: { warn(message: string, attributes: Record<string, unknown>): void };
}

/** Places the order and stores it in the cache; `cached` is false when the cache could not take it. */
export async function placeOrder(deps: OrderDependencies, userId: number, order: NewOrder): Promise<{ order: Order; cached: boolean }> {
  const created = await deps.store.create(userId, order);
  try {
    const cached = await deps.cache.put(orderResource.key(deps.keys, { id: created.id }), orderResource.ttl, created);
    return { order: created, cached };
  } catch (error) {
    deps.log?.warn('order placed but not cached; reads fall back to PostgreSQL', { orderId: created.id, error: String(error) });
    return { order: created, cached: false };
  }
}

