/**
 * Building API responses: entity responses with their caching headers and conditional 304s, and
 * the one JSON error shape `{ "error": { "code", "message", "field"? } }`, always `no-store`.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ConflictError, ForbiddenError, NotFoundError, OriginUnavailableError, UnauthorizedError, ValidationError } from '../errors';
import { Cacheability, cacheControlFor, NO_STORE, PUBLIC_VARY, StaleWindows } from './cache-control';
import { ifNoneMatchMatches, strongETag } from './etag';

export type ApiResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string>; body: string };

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

const BASE_HEADERS = { 'x-content-type-options': 'nosniff' } as const;

export interface EntityResponseOptions {
  /** The serialised entity; its bytes are the ETag's input. */
  readonly body: string;
  /** `strongETag(body)`, when the caller has it already (a cached representation). @default - computed from `body` */
  readonly etag?: string;
  readonly cacheability: Cacheability;
  /** `max-age` of a public response. */
  readonly maxAgeSeconds: number;
  readonly staleWindows?: StaleWindows;
  /** The request's `If-None-Match`, if any. */
  readonly ifNoneMatch?: string;
  /** HEAD gets the headers of GET without the body. */
  readonly method: string;
  /** Further headers, e.g. `x-cache`. */
  readonly headers?: Record<string, string>;
}

/**
 * 200 with the entity, or 304 without a body when `If-None-Match` matches its ETag. A 304 repeats
 * the ETag, Cache-Control and Vary the 200 would have carried (RFC 9110 §15.4.5).
 */
export function entityResponse(options: EntityResponseOptions): ApiResponse {
  const etag = options.etag ?? strongETag(options.body);
  // Built field by field rather than by spreading: this runs on every cache hit.
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', 'cache-control': cacheControlFor(options.cacheability, options.maxAgeSeconds, options.staleWindows) };
  if (options.cacheability === Cacheability.PUBLIC) headers.vary = PUBLIC_VARY;
  headers.etag = etag;
  // Equivalent mutant left to survive: a for-in over undefined runs no iteration, so dropping the check changes nothing.
  if (options.headers) for (const name in options.headers) headers[name] = options.headers[name];
  if (ifNoneMatchMatches(options.ifNoneMatch, etag)) return { statusCode: 304, headers, body: '' };
  headers['content-type'] = JSON_CONTENT_TYPE;
  return { statusCode: 200, headers, body: options.method === 'HEAD' ? '' : options.body };
}

/** A JSON response that must never be stored (health, and the like). */
export function uncachedResponse(statusCode: number, payload: unknown, method: string, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { ...BASE_HEADERS, 'content-type': JSON_CONTENT_TYPE, 'cache-control': NO_STORE, ...headers },
    body: method === 'HEAD' ? '' : JSON.stringify(payload),
  };
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

/** An error response: JSON body, `no-store`. */
export function errorResponse(statusCode: number, code: string, message: string, options: { field?: string; headers?: Record<string, string>; method?: string } = {}): ApiResponse {
  // JSON.stringify leaves out an undefined field.
  const error: ErrorBody['error'] = { code, message, field: options.field };
  // Equivalent mutant left to survive: only 'HEAD' changes the response, so any other default method is the same.
  return uncachedResponse(statusCode, { error }, options.method ?? 'GET', options.headers);
}

/**
 * Responses for the typed errors; anything else is a bug and becomes a 500 that reveals nothing.
 * (Equivalent mutant left to survive: a default method other than 'GET' answers alike, only 'HEAD' differs.)
 */
export function responseForError(error: unknown, method = 'GET', headers: Record<string, string> = {}): { response: ApiResponse; unexpected: boolean } {
  const opts = { method, headers };
  if (error instanceof ValidationError) return { response: errorResponse(400, 'invalid_request', error.message, { ...opts, field: error.field }), unexpected: false };
  if (error instanceof UnauthorizedError) {
    return { response: errorResponse(401, 'unauthorized', error.message, { method, headers: { ...headers, 'www-authenticate': 'Bearer' } }), unexpected: false };
  }
  if (error instanceof ForbiddenError) return { response: errorResponse(403, 'forbidden', error.message, opts), unexpected: false };
  if (error instanceof NotFoundError) return { response: errorResponse(404, 'not_found', error.message, opts), unexpected: false };
  if (error instanceof ConflictError) return { response: errorResponse(409, 'conflict', error.message, opts), unexpected: false };
  if (error instanceof OriginUnavailableError) {
    return {
      response: errorResponse(503, 'origin_unavailable', 'the service is temporarily unavailable, retry later', {
        method,
        headers: { ...headers, 'retry-after': String(Math.max(1, Math.round(error.retryAfterSeconds))) },
      }),
      unexpected: false,
    };
  }
  return { response: errorResponse(500, 'internal_error', 'internal error', opts), unexpected: true };
}
