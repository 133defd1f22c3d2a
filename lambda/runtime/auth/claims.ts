/**
 * The caller's identity as API Gateway's JWT authorizer (or the dev server, which imitates it)
 * hands it over: verified claims under `requestContext.authorizer.jwt`.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { UnauthorizedError } from '../errors';

/** The part of a payload-v2 event that carries the authorizer's verdict; absent on public routes. */
export type AuthorizedEvent = Pick<APIGatewayProxyEventV2WithJWTAuthorizer, 'requestContext'> | { requestContext: { authorizer?: undefined } };

type JwtContext = APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']['authorizer']['jwt'];

function jwtOf(event: AuthorizedEvent): JwtContext | undefined {
  return (event.requestContext.authorizer as { jwt?: JwtContext } | undefined)?.jwt;
}

/** The verified `sub` claim; UnauthorizedError when the request carries no verified token. */
export function subjectOf(event: AuthorizedEvent): string {
  const sub = jwtOf(event)?.claims?.sub;
  if (typeof sub === 'number') return String(sub);
  if (typeof sub !== 'string' || sub === '') throw new UnauthorizedError('a bearer token with a sub claim is required');
  return sub;
}

/**
 * The granted scopes: `requestContext.authorizer.jwt.scopes` when the authorizer filled it, else the
 * space-separated `scope` claim (or an `scp` array), as an OAuth 2.0 access token carries them.
 */
export function scopesOf(event: AuthorizedEvent): string[] {
  const jwt = jwtOf(event);
  if (!jwt) return [];
  if (Array.isArray(jwt.scopes) && jwt.scopes.length > 0) return jwt.scopes;
  const { scope, scp } = jwt.claims ?? {};
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  return [];
}
