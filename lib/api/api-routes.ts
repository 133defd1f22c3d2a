import { Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Resource } from '../../lambda/runtime/resources/resource';
import { Sharing } from '../../lambda/runtime/resources/resource';

/** What the API reads from a resource declaration (`defineResource` in `cache-pyramid/runtime`). */
export type ApiResource = Pick<Resource<never>, 'name' | 'routeKey' | 'sharing' | 'queryNames'>;

/** A route of the HTTP API that no resource declares: a write, a health check, a custom read. */
export interface ApiRouteProps {
  /** API Gateway route key: `PUT /api/articles/{slug}`. A `GET` route answers `HEAD` too. */
  readonly routeKey: string;
  /** Whether the JWT authorizer guards the route (API Gateway answers 401 without a valid token). @default true */
  readonly jwt?: boolean;
  /** OAuth scopes the JWT must carry (API Gateway answers 403 otherwise); only with `jwt`. @default - none */
  readonly scopes?: readonly string[];
}

/** One route as declared on the HTTP API. */
export interface DeclaredApiRoute {
  readonly routeKey: string;
  readonly jwt: boolean;
  readonly scopes?: readonly string[];
  /** The query parameters the route accepts (a resource's declared ones; none for other routes). */
  readonly query: readonly string[];
}

const ROUTE_KEY = /^(GET|POST|PUT|PATCH|DELETE) \/[\w{}/.-]*$/;

/**
 * The routes of `resources` (GET, answering HEAD too; the JWT authorizer on per-subject ones, whose
 * handler needs the caller's subject) followed by `routes` (JWT unless `jwt: false`). Checked before
 * anything is created: well-formed and unique route keys, scopes only behind the authorizer. `owner`
 * and `prop` name the construct and the prop in the errors.
 */
export function declaredApiRoutes(owner: string, resources: readonly ApiResource[], routes: readonly ApiRouteProps[], prop = 'routes'): DeclaredApiRoute[] {
  const declared: DeclaredApiRoute[] = [
    ...resources.map((resource) => ({ routeKey: resource.routeKey, jwt: resource.sharing === Sharing.PER_SUBJECT, query: resource.queryNames })),
    ...routes.map((route) => ({ routeKey: route.routeKey, jwt: route.jwt ?? true, scopes: route.scopes, query: [] })),
  ];
  const keys = new Map<string, string>();
  declared.forEach((route, i) => {
    const origin = i < resources.length ? `resource ${resources[i].name}` : `\`${prop}\``;
    if (!ROUTE_KEY.test(route.routeKey)) throw new Error(`${owner}: every route key of ${origin} must be "<METHOD> /path", got ${JSON.stringify(route.routeKey)}`);
    const previous = keys.get(route.routeKey);
    if (previous !== undefined) throw new Error(`${owner}: ${route.routeKey} is declared twice (by ${previous} and by ${origin})`);
    keys.set(route.routeKey, origin);
    if (route.scopes !== undefined && !route.jwt) {
      throw new Error(`${owner}: route ${route.routeKey} has \`scopes\` but no JWT authorizer (jwt: false); scopes are checked by the authorizer`);
    }
  });
  return declared;
}

/**
 * Adds `route` to `httpApi` (GET with HEAD), behind `authorizer` when it needs a JWT. A route left
 * open is acknowledged for cdk-nag and cfn-guard with the reason it may be: CloudFront caches it for
 * every viewer and the function refuses requests that do not come through CloudFront.
 */
export function addApiRoute(httpApi: apigwv2.HttpApi, route: DeclaredApiRoute, integration: HttpLambdaIntegration, authorizer: HttpJwtAuthorizer): void {
  const [method, path] = route.routeKey.split(' ');
  const methods = method === 'GET' ? [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.HEAD] : [method as apigwv2.HttpMethod];
  const created = httpApi.addRoutes({
    path,
    methods,
    integration,
    authorizer: route.jwt ? authorizer : undefined,
    authorizationScopes: route.scopes === undefined ? undefined : [...route.scopes],
  });
  if (!route.jwt) {
    const reason = `${route.routeKey} is a public read that CloudFront caches for every viewer; requests that do not come through CloudFront are refused by the function (x-origin-verify).`;
    for (const publicRoute of created) {
      Validations.of(publicRoute).acknowledge(
        { id: 'AwsSolutions-APIG4', reason },
        { id: 'cdk-validator-cfnguard::api_gw_v2_authorization_type_configured_check', reason },
      );
    }
  }
}
