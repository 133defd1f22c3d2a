/**
 * The reference shop's cached resources, declared once. The handler binds loaders to them; the CDK
 * app (lib/cache-pyramid-stack.ts) derives the API routes, the CloudFront behaviours and the cache
 * policies from the same objects, so a path, a query parameter or a sharing change is one edit here.
 */
import { defineResource, ParamKind, Sharing, TtlClass } from 'cache-pyramid/runtime';
import type { Order } from './write-path/orders';
import type { AppConfig, Product, ProductPage, UserSummary } from './repositories';

/**
 * `GET /api/products/{id}`: one product, public. It carries the tags of every list page it can appear
 * on (its category's and the unfiltered list's), so a product write purges those pages too.
 */
export const product = defineResource<Product>({
  name: 'product',
  path: '/api/products/{id}',
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT,
  staleWhileRevalidate: true,
  version: (value) => value.version,
  tags: (value) => [`category:${value.category}`, 'products'],
});

/** `GET /api/products?category=&page=`: a page of a category (or of every product), public. */
export const productList = defineResource<ProductPage>({
  name: 'product-list',
  path: '/api/products',
  query: { category: { kind: ParamKind.SLUG }, page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
  tags: (_value, params) => (params.category === undefined ? ['products'] : [`category:${params.category}`]),
});

/** `GET /api/users/{id}`: a user's own profile, for that user only. */
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
