/**
 * Development tokens, verified the way API Gateway's JWT authorizer verifies them: signature,
 * `iss`, `aud`, `exp`/`nbf`; then the claims (as strings) and the scopes are handed to the function
 * under `requestContext.authorizer.jwt`. HS256 with a shared secret stands in for the identity
 * provider's keys; never use these tokens or the default secret outside a developer's machine.
 */
import { jwtVerify, SignJWT } from 'jose';

/** Used when `JWT_SECRET` is not set; documented in the README, so it protects nothing. */
export const DEV_JWT_DEFAULT_SECRET = 'cache-pyramid-dev-secret-not-for-production';
export const DEV_JWT_DEFAULT_ISSUER = 'https://auth.dev.cache-pyramid.local/';
export const DEV_JWT_DEFAULT_AUDIENCE = 'cache-pyramid-api';

export interface DevJwtSettings {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

/** `JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, each with its documented dev default. */
export function devJwtSettings(env: Readonly<Record<string, string | undefined>>): DevJwtSettings {
  const secret = env.JWT_SECRET || DEV_JWT_DEFAULT_SECRET;
  // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
  if (Buffer.byteLength(secret) < 32) throw new Error(`JWT_SECRET must be at least 32 bytes for HS256, got ${Buffer.byteLength(secret)}`);
  return { secret, issuer: env.JWT_ISSUER || DEV_JWT_DEFAULT_ISSUER, audience: env.JWT_AUDIENCE || DEV_JWT_DEFAULT_AUDIENCE };
}

export interface DevTokenRequest {
  readonly sub: string;
  /** OAuth scopes, written as one space-separated `scope` claim. */
  readonly scopes?: readonly string[];
  /** Lifetime. @default 3600 */
  readonly ttlSeconds?: number;
  /** Seconds since the epoch. @default now */
  readonly nowSeconds?: number;
}

export async function signDevToken(settings: DevJwtSettings, request: DevTokenRequest): Promise<string> {
  const now = request.nowSeconds ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(request.scopes && request.scopes.length > 0 ? { scope: request.scopes.join(' ') } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (request.ttlSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(settings.secret));
}

/** What the authorizer puts under `requestContext.authorizer.jwt`. */
export interface VerifiedJwt {
  readonly claims: Record<string, string>;
  readonly scopes: string[];
}

/** Verifies `Authorization: Bearer <jwt>`; throws with the reason API Gateway would log. */
export async function verifyBearer(settings: DevJwtSettings, authorization: string | undefined, nowSeconds?: number): Promise<VerifiedJwt> {
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization?.trim() ?? '');
  if (!match) throw new Error('missing or malformed Authorization: Bearer header');
  const { payload } = await jwtVerify(match[1], new TextEncoder().encode(settings.secret), {
    algorithms: ['HS256'],
    issuer: settings.issuer,
    audience: settings.audience,
    requiredClaims: ['sub', 'exp'],
    ...(nowSeconds === undefined ? {} : { currentDate: new Date(nowSeconds * 1000) }),
  });
  // API Gateway hands every claim to the function as a string (arrays as "[a b]").
  const claims = Object.fromEntries(
    Object.entries(payload).map(([name, value]) => [name, typeof value === 'string' ? value : Array.isArray(value) ? `[${value.join(' ')}]` : JSON.stringify(value)]),
  );
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s !== '') : [];
  return { claims, scopes };
}
