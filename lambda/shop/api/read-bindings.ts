/**
 * The loaders of the shop's declared resources (lambda/shop/resources.ts): each reads one answer from
 * PostgreSQL. Everything else about a read — route, key, headers, tags, who may see it — comes from
 * the declaration, through the runtime's resource API.
 */
import { bindResource, toOriginError, type ResourceBinding } from 'cache-pyramid/runtime';
import { ConfigRepository, ProductRepository, UserIdentityRepository, UserRepository, type AppConfig, type Order, type Product, type ProductPage, type Queryable, type RepositoryOptions, type UserSummary } from '../repositories';
import { config, order, product, productList, user } from '../resources';
import { OrderStore } from '../write-path/orders';

/** The origin reads of the shop's resources (the repositories fit; tests may wrap them to count). */
export interface ShopOrigin {
  readonly products: {
    findById(id: number): Promise<Product | null>;
    listPage(category: string | undefined, page: number): Promise<ProductPage | null>;
    /** The number of the listing's last page (1 when empty); null when the category does not exist. */
    lastPage(category: string | undefined): Promise<number | null>;
  };
  readonly users: { findSummary(id: number): Promise<UserSummary | null> };
  readonly orders: { findById(id: number): Promise<Order | null> };
  readonly config: { load(): Promise<AppConfig> };
  /** Which user a verified token's `sub` names (`users.subject`). */
  readonly identities: { userIdOf(subject: string): Promise<number | undefined> };
}

/** The repositories over one pool: the origin of every shop resource. */
export function shopOrigin(db: Queryable, options: RepositoryOptions = {}): ShopOrigin {
  return {
    products: new ProductRepository(db, options),
    users: new UserRepository(db, options),
    orders: new OrderStore(db),
    config: new ConfigRepository(db, options),
    identities: new UserIdentityRepository(db, options),
  };
}

/** `Retry-After` of a 503 when PostgreSQL cannot answer an order read. */
const ORDER_RETRY_AFTER_SECONDS = 5;

/** The shop's resources with their loaders, in the order the API matches them. */
export function shopBindings(origin: ShopOrigin): ResourceBinding[] {
  return [
    bindResource({
      resource: product,
      load: (params) => origin.products.findById(params.id as number),
      notFoundMessage: (params) => `product ${params.id} does not exist`,
    }),
    bindResource({
      resource: productList,
      load: (params) => origin.products.listPage(params.category as string | undefined, params.page as number),
      lastPage: (params) => origin.products.lastPage(params.category as string | undefined),
      notFoundMessage: (params) => `category ${params.category} does not exist`,
    }),
    bindResource({
      resource: user,
      load: (params) => origin.users.findSummary(params.id as number),
      notFoundMessage: (params) => `user ${params.id} does not exist`,
    }),
    bindResource({
      resource: order,
      load: async (params) => {
        try {
          return await origin.orders.findById(params.id as number);
        } catch (error) {
          throw toOriginError(error, ORDER_RETRY_AFTER_SECONDS);
        }
      },
      // Someone else's order answers exactly like a missing one: a 403 would tell which ids exist.
      notFoundMessage: (params) => `order ${params.id} does not exist`,
    }),
    bindResource({ resource: config, load: () => origin.config.load(), notFoundMessage: () => 'config does not exist' }),
  ] as ResourceBinding[];
}
