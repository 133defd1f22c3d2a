/**
 * Which PostgreSQL failures mean "the origin cannot answer right now" (→ 503 with Retry-After, or a
 * stale value when the cache has one) as opposed to a bug in a query (→ 500, logged).
 */
import { OriginUnavailableError } from '../errors';

/** Socket-level failures reported by Node for a connection that cannot be made or was lost. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * SQLSTATEs of an unavailable server: class 08 connection exception, 28 authentication (a rotated
 * secret not yet picked up), 53 insufficient resources (too many connections), 57014 statement
 * timeout, 57P01–57P03 shutdown / crash / still starting (Aurora resuming from zero capacity).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('28') || code.startsWith('53') || code === '57014' || /^57P0[1-3]$/.test(code);
}

/** node-postgres raises these without a code when a connection dies or a client-side timeout fires. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout$/,
  /is not queryable/,
  /Cannot use a pool after calling end/,
];

/** True when `error` says PostgreSQL could not be reached or did not answer in time. */
export function isOriginUnavailable(error: unknown): boolean {
  if (error instanceof OriginUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || isUnavailableSqlState(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isOriginUnavailable);
  return DRIVER_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** True for a connection that was lost (not timed out): one immediate retry on a fresh connection may succeed. */
export function isLostConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === '57P01' || /^Connection terminated unexpectedly/.test(error.message) || /is not queryable/.test(error.message);
}

/** `error` as an {@link OriginUnavailableError} when it is one in substance; otherwise unchanged. */
export function toOriginError(error: unknown, retryAfterSeconds: number): unknown {
  if (error instanceof OriginUnavailableError || !isOriginUnavailable(error)) return error;
  return new OriginUnavailableError(`PostgreSQL is unavailable: ${(error as Error).message}`, retryAfterSeconds, { cause: error });
}
