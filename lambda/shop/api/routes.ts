/**
 * The API's routes, as API Gateway route keys. The infrastructure declares exactly these routes
 * (attaching the JWT authorizer where `jwt` is true) and the local dev server verifies tokens on the
 * same ones, so the three cannot drift apart.
 */
export interface ApiRoute {
  /** `GET /api/products/{id}` */
  readonly routeKey: string;
  /** True when API Gateway's JWT authorizer guards the route. */
  readonly jwt: boolean;
  /** Query parameters the route accepts; any other is a 400. */
  readonly query: readonly string[];
}

export enum RouteName {
  PRODUCT = 'product',
  PRODUCT_LIST = 'productList',
  USER = 'user',
  CONFIG = 'config',
  HEALTH = 'health',
}

export const API_ROUTES: Readonly<Record<RouteName, ApiRoute>> = {
  [RouteName.PRODUCT]: { routeKey: 'GET /api/products/{id}', jwt: false, query: [] },
  [RouteName.PRODUCT_LIST]: { routeKey: 'GET /api/products', jwt: false, query: ['category', 'page'] },
  [RouteName.USER]: { routeKey: 'GET /api/users/{id}', jwt: true, query: [] },
  [RouteName.CONFIG]: { routeKey: 'GET /api/config', jwt: false, query: [] },
  [RouteName.HEALTH]: { routeKey: 'GET /health', jwt: false, query: [] },
};

/** Methods every route answers: HEAD is GET without the body. */
export const ALLOWED_METHODS = ['GET', 'HEAD'] as const;

export interface RouteMatch {
  readonly name: RouteName;
  readonly route: ApiRoute;
  /** The `{id}` path parameter, undecoded. */
  readonly id?: string;
}

const PATTERNS: readonly [RegExp, RouteName][] = [
  [/^\/api\/products\/([^/]+)$/, RouteName.PRODUCT],
  [/^\/api\/products$/, RouteName.PRODUCT_LIST],
  [/^\/api\/users\/([^/]+)$/, RouteName.USER],
  [/^\/api\/config$/, RouteName.CONFIG],
  [/^\/health$/, RouteName.HEALTH],
];

/** The route serving `path`, or undefined. */
export function matchRoute(path: string): RouteMatch | undefined {
  for (const [pattern, name] of PATTERNS) {
    const match = pattern.exec(path);
    if (match) return { name, route: API_ROUTES[name], id: match[1] };
  }
  return undefined;
}
