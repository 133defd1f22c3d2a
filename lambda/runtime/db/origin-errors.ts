/**
 * Which PostgreSQL failures mean "the origin cannot answer right now" (→ 503 with Retry-After, or a
 * stale value when the cache has one) as opposed to a bug in a query (→ 500, logged).
 */
import { OriginUnavailableError, ValidationError } from '../errors';

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

interface ErrorLike {
  readonly message: string;
  readonly code?: unknown;
  readonly errors?: unknown;
}

/** Duck-typed: socket errors come from Node internals, whose `Error` may be another realm's. */
function asErrorLike(error: unknown): ErrorLike | undefined {
  return typeof error === 'object' && error !== null && typeof (error as ErrorLike).message === 'string' ? (error as ErrorLike) : undefined;
}

/** True when `error` says PostgreSQL could not be reached or did not answer in time. */
export function isOriginUnavailable(error: unknown): boolean {
  if (error instanceof OriginUnavailableError) return true;
  const e = asErrorLike(error);
  if (!e) return false;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || isUnavailableSqlState(e.code))) return true;
  // Connecting to a host name with several addresses fails with an AggregateError of socket errors.
  if (Array.isArray(e.errors)) return e.errors.some(isOriginUnavailable);
  return DRIVER_MESSAGES.some((pattern) => pattern.test(e.message));
}

/** True for a connection that was lost (not timed out): one immediate retry on a fresh connection may succeed. */
export function isLostConnection(error: unknown): boolean {
  const e = asErrorLike(error);
  if (!e) return false;
  return e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code === '57P01' || /^Connection terminated unexpectedly/.test(e.message) || /is not queryable/.test(e.message);
}

/** `error` as an {@link OriginUnavailableError} when it is one in substance; otherwise unchanged. */
export function toOriginError(error: unknown, retryAfterSeconds: number): unknown {
  if (error instanceof OriginUnavailableError || !isOriginUnavailable(error)) return error;
  return new OriginUnavailableError(`PostgreSQL is unavailable: ${(error as ErrorLike).message}`, retryAfterSeconds, { cause: error });
}

/**
 * True for SQLSTATE class 22, "data exception" (`22P02` invalid text representation, `22021` a
 * character not in the encoding, `22001` value too long, `22003` out of range…): PostgreSQL refused
 * the VALUE the caller sent. On a write that is the caller's input (400), not a server fault (500),
 * and retrying it cannot help.
 */
export function isDataException(error: unknown): boolean {
  const e = asErrorLike(error);
  return e !== undefined && typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code);
}

/**
 * Where the application could not tell in advance that PostgreSQL would refuse a value, a data
 * exception becomes a {@link ValidationError} naming `field` (400); unavailability becomes an
 * {@link OriginUnavailableError} (503) as in {@link toOriginError}; anything else is unchanged (500).
 */
export function toWriteError(error: unknown, retryAfterSeconds: number, field = 'body'): unknown {
  if (isDataException(error)) {
    return new ValidationError(field, `the database refused a value of the request (SQLSTATE ${(error as ErrorLike).code}): ${(error as ErrorLike).message}`);
  }
  return toOriginError(error, retryAfterSeconds);
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when PostgreSQL can store `text` as `text` or inside `jsonb`: it is well-formed UTF-16 (no
 * lone surrogate, which has no UTF-8 encoding: `22P02`/`22021`) and holds no NUL (`text` cannot hold
 * U+0000, `jsonb` refuses `\u0000`: `22P05`).
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** `value` unchanged when it is storable text (see {@link isStorableText}), else a ValidationError naming `field`. */
export function checkStorableText(field: string, value: string): string {
  if (value.includes('\u0000')) throw new ValidationError(field, `${field} must not contain NUL characters (U+0000)`);
  if (LONE_SURROGATE.test(value)) throw new ValidationError(field, `${field} must be well-formed Unicode: it holds a lone UTF-16 surrogate (\\ud800-\\udfff), which cannot be stored`);
  return value;
}
