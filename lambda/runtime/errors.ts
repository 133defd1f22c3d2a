/**
 * Typed errors of the function code. Adapters map them to responses (4xx/503) or DLQ reasons;
 * the core never throws plain strings.
 */

/** Bad input from a caller; `field` names what was wrong. Maps to 400. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** No credentials, or credentials that do not verify. Maps to 401. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

/** Authenticated, but not allowed to touch this resource. Maps to 403. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

/** The entity does not exist in the origin. Maps to 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A write lost an optimistic-concurrency race (stale version). Maps to 409. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** The origin (PostgreSQL) could not answer; the cache had nothing to serve instead. Maps to 503. */
export class OriginUnavailableError extends Error {
  override readonly name = 'OriginUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The cache could not answer in time or at all. Never surfaces to a caller: reads fall back to the origin. */
export class CacheUnavailableError extends Error {
  override readonly name = 'CacheUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** SQS kept refusing some messages after retries. The API maps it to 503: the change was not accepted. */
export class QueueSendError extends Error {
  override readonly name = 'QueueSendError';
  constructor(
    message: string,
    /** Ids (batch entry ids) of the messages that were not sent. */
    readonly unsentIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An invalidation event or message that can never succeed (malformed, oversized, unknown, naming keys
 * outside the namespace). Purgers send the record to its DLQ with `reason` instead of retrying it.
 */
export class UnprocessableEventError extends Error {
  override readonly name = 'UnprocessableEventError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** EventBridge kept refusing some entries of a `PutEvents` after retries; `failures` names each one. */
export class InvalidationPublishError extends Error {
  override readonly name = 'InvalidationPublishError';
  constructor(
    message: string,
    readonly failures: readonly { readonly source: string; readonly detailType: string; readonly errorCode: string; readonly errorMessage: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
