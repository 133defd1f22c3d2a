/**
 * The API's read routes, as API Gateway route keys: one per declared resource (lambda/shop/resources.ts),
 * with the JWT authorizer on per-subject ones and the declared query parameters, plus the health
 * check. The infrastructure declares exactly these routes and the local dev server verifies tokens on
 * the same ones, so the three cannot drift apart.
 */
import { Sharing } from 'cache-pyramid/runtime';
import { SHOP_RESOURCES } from '../resources';

export interface ApiRoute {
  /** `GET /api/products/{id}` */
  readonly routeKey: string;
  /** True when API Gateway's JWT authorizer guards the route. */
  readonly jwt: boolean;
  /** Query parameters the route accepts; any other is a 400. */
  readonly query: readonly string[];
}

/** The health check: answered by the function, never cached. */
export const HEALTH_PATH = '/health';

/** Every read route, by name: one per declared resource (named as the resource), then `health`. */
export const API_ROUTES: Readonly<Record<string, ApiRoute>> & { readonly health: ApiRoute } = {
  ...Object.fromEntries(
    SHOP_RESOURCES.map((resource) => [resource.name, { routeKey: resource.routeKey, jwt: resource.sharing === Sharing.PER_SUBJECT, query: resource.queryNames }]),
  ),
  health: { routeKey: `GET ${HEALTH_PATH}`, jwt: false, query: [] },
};

/** The read route serving `path`, or undefined. */
export function matchRoute(path: string): ApiRoute | undefined {
  const resource = SHOP_RESOURCES.find((r) => r.matchesPath(path));
  if (resource) return API_ROUTES[resource.name];
  return path === HEALTH_PATH ? API_ROUTES.health : undefined;
}
