/**
 * Request limits and parsing of the API's inputs. Every rejection is a ValidationError naming the
 * field at fault, which the adapter turns into a 400 with a JSON body.
 */
import { ValidationError } from '../errors';

/** Limits on what a request may carry (API Gateway's own limits are far higher). */
export const REQUEST_LIMITS = {
  /** Bytes of the path (`rawPath`). */
  pathBytes: 1024,
  /** Bytes of the raw query string. */
  queryBytes: 2048,
  /** Bytes of a request body: every route is a GET, so none. */
  bodyBytes: 0,
  /** Highest page number of a listing (deep OFFSET scans cost the database more than they are worth). */
  maxPage: 10_000,
} as const;

/** The largest id accepted: ids are JSON numbers, exact only up to 2^53 − 1 (and bigint in PostgreSQL). */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Shows a caller's input in a message without echoing a huge or control-laden string. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** Throws when the path, query string or body exceed {@link REQUEST_LIMITS}. */
export function checkRequestSize(rawPath: string, rawQueryString: string, body: string | undefined, isBase64Encoded: boolean): void {
  if (Buffer.byteLength(rawPath) > REQUEST_LIMITS.pathBytes) {
    throw new ValidationError('path', `the path must be at most ${REQUEST_LIMITS.pathBytes} bytes`);
  }
  if (Buffer.byteLength(rawQueryString) > REQUEST_LIMITS.queryBytes) {
    throw new ValidationError('query', `the query string must be at most ${REQUEST_LIMITS.queryBytes} bytes`);
  }
  const bodyBytes = body ? (isBase64Encoded ? Buffer.from(body, 'base64').length : Buffer.byteLength(body)) : 0;
  if (bodyBytes > REQUEST_LIMITS.bodyBytes) {
    throw new ValidationError('body', `this route takes no request body (limit ${REQUEST_LIMITS.bodyBytes} bytes, got ${bodyBytes})`);
  }
}

/**
 * The query parameters of `rawQueryString`, each at most once, all of them in `allowed`. An unknown
 * parameter is an error rather than ignored: a typo (`?categroy=`) would otherwise silently return
 * the unfiltered list, and every distinct URL would be a distinct CDN cache entry.
 */
export function parseQuery(rawQueryString: string, allowed: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  // URLSearchParams parses any string (application/x-www-form-urlencoded has no syntax error) and finds
  // nothing in an empty one.
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    if (!allowed.includes(name)) {
      const accepted = allowed.length > 0 ? `accepted: ${allowed.join(', ')}` : 'this route accepts none';
      throw new ValidationError(name, `unknown query parameter ${quote(name)} (${accepted})`);
    }
    if (Object.prototype.hasOwnProperty.call(params, name)) throw new ValidationError(name, `query parameter ${name} must be given at most once`);
    params[name] = value;
  }
  return params;
}

/** A positive integer id in decimal, at most {@link MAX_ID}. */
export function parseId(field: string, raw: string | undefined): number {
  const text = raw ?? '';
  if (!/^[1-9][0-9]{0,15}$/.test(text) || Number(text) > MAX_ID) {
    throw new ValidationError(field, `${field} must be a positive integer no greater than ${MAX_ID}, got ${quote(text)}`);
  }
  return Number(text);
}

/** A 1-based page number, 1 when absent. */
export function parsePage(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (!/^[1-9][0-9]{0,4}$/.test(raw) || Number(raw) > REQUEST_LIMITS.maxPage) {
    throw new ValidationError('page', `page must be an integer between 1 and ${REQUEST_LIMITS.maxPage}, got ${quote(raw)}`);
  }
  return Number(raw);
}

const CATEGORY_SLUG = /^[a-z0-9-]{1,64}$/;

/** A category slug as the schema allows it, or undefined when absent. */
export function parseCategory(raw: string | undefined): string | undefined {
  // Equivalent mutant left to survive: without this line, undefined would be tested as the string
  // "undefined", which is a valid slug, and returned as it is: undefined. TypeScript needs the check.
  if (raw === undefined) return undefined;
  if (!CATEGORY_SLUG.test(raw)) {
    throw new ValidationError('category', `category must be 1 to 64 lower-case letters, digits or hyphens, got ${quote(raw)}`);
  }
  return raw;
}

/** A header's value. Payload v2 (API Gateway, and the dev server after it) lower-cases every header name. */
export function headerValue(headers: Readonly<Record<string, string | undefined>> | undefined, lowerCaseName: string): string | undefined {
  return headers?.[lowerCaseName];
}
