/**
 * The reference shop's cached resources, declared once. The handler binds loaders to them; the CDK
 * app (lib/cache-pyramid-stack.ts) derives the API routes, the CloudFront behaviours and the cache
 * policies from the same objects, so a path, a query parameter or a sharing change is one edit here.
 */
import { defineResource, ParamKind, Sharing, TtlClass, type ResourceParams } from 'cache-pyramid/runtime';
import type { AppConfig, Order, Product, ProductPage, UserSummary } from './repositories';

/** The tag of one product: its own entry and every list page showing it. */
export function productTag(id: number): string {
  return `product:${id}`;
}

/** The tag of one category: its products and its list pages. */
export function categoryTag(slug: string): string {
  return `category:${slug}`;
}

/** The tag of the unfiltered listing's pages. */
export const ALL_PRODUCTS_TAG = 'all';

/** The tag of a listing as a whole: its category's (`all` for every product), purged when a product joins or leaves it. */
function listTag(params: ResourceParams): string {
  return params.category === undefined ? ALL_PRODUCTS_TAG : categoryTag(String(params.category));
}

/**
 * `GET /api/products/{id}`: one product, public, served stale while it is refreshed. Tags: the
 * product itself and its category, so a write of the product (or of its category) finds it.
 */
export const product = defineResource<Product>({
  name: 'product',
  path: '/api/products/{id}',
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT,
  staleWhileRevalidate: true,
  version: (value) => value.version,
  tags: (value) => [productTag(value.id), categoryTag(value.category)],
});

/**
 * `GET /api/products?category=&page=`: a page of a category (or of every product), public. Tags: its
 * category (`all` for the unfiltered listing), whose pages all shift when a product joins or leaves
 * it, and every product it shows, whose write changes the page. Paged: the listing's last page number
 * is cached with the category's tag, and a page past it answers 404 without an `OFFSET` query.
 */
export const productList = defineResource<ProductPage>({
  name: 'product-list',
  path: '/api/products',
  query: { category: { kind: ParamKind.SLUG }, page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
  tags: (value, params) => [listTag(params), ...value.items.map((item) => productTag(item.id))],
  paging: { pageParam: 'page', listTags: (params) => [listTag(params)] },
});

/** `GET /api/users/{id}`: a user's public summary (no secret column), for that user only; the write-behind refreshes it. */
export const user = defineResource<UserSummary>({
  name: 'user',
  path: '/api/users/{id}',
  sharing: Sharing.PER_SUBJECT,
  subjectParam: 'id',
  ttl: TtlClass.USER_PROFILE,
});

/** `GET /api/orders/{id}`: an order, for the user who placed it only. */
export const order = defineResource<Order>({
  name: 'order',
  path: '/api/orders/{id}',
  sharing: Sharing.PER_SUBJECT,
  ownerOf: (value) => String(value.userId),
  ttl: TtlClass.ORDER,
});

/** `GET /api/config`: the public application configuration. */
export const config = defineResource<AppConfig>({
  name: 'config',
  path: '/api/config',
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.CONFIG,
});

/** Every resource of the shop, in the order the API matches them. */
export const SHOP_RESOURCES = [product, productList, user, order, config] as const;
