/**
 * The origin lock: only CloudFront knows the value of the `x-origin-verify` header it adds to every
 * request, so a caller that reaches the API directly (bypassing the CDN, its WAF and its caching)
 * is refused.
 *
 * The secret is read once per sandbox and kept. A request whose header does not match makes the
 * verifier re-read the secret, at most once per `refreshIntervalMs`, so that a rotated value is
 * accepted within that interval while a flood of wrong headers cannot flood Secrets Manager. The
 * interval counts from the last ATTEMPT, failed or not: a failing re-read is not retried by every
 * wrong header either (the known secret keeps being used meanwhile). Before any read has succeeded
 * there is nothing to compare with; then a read is attempted at most once per `retryAfterFailureMs`
 * and the requests in between fail with the last error.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

export interface OriginVerifierOptions {
  /** Minimum time between two reads of the secret. @default 300000 */
  readonly refreshIntervalMs?: number;
  /** Minimum time between two reads while no secret is known yet (the first read failed). @default 1000 */
  readonly retryAfterFailureMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** Compares in time independent of where the values differ and of their lengths. */
function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export class OriginVerifier {
  private secret?: string;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastFailure?: unknown;
  private inFlight?: Promise<string>;
  private readonly refreshIntervalMs: number;
  private readonly retryAfterFailureMs: number;
  private readonly now: () => number;

  constructor(
    private readonly readSecret: () => Promise<string>,
    options: OriginVerifierOptions = {},
  ) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? 300_000;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Reads the secret now (at cold start), so that no request waits for it. */
  async load(): Promise<void> {
    await this.fetch();
  }

  /** True when `presented` equals the secret. Throws only when no secret has ever been read. */
  async verify(presented: string | undefined): Promise<boolean> {
    const current = this.secret ?? (await this.firstSecret());
    if (presented === undefined || presented === '') return false;
    if (sameSecret(presented, current)) return true;
    if (this.inFlight === undefined && this.now() - this.attemptedAt < this.refreshIntervalMs) return false;
    try {
      return sameSecret(presented, await this.fetch());
    } catch {
      // The known secret stays in use; the failed attempt counts for the throttle.
      return false;
    }
  }

  /** While no secret is known: one read per `retryAfterFailureMs` at most, the last error otherwise. */
  private firstSecret(): Promise<string> {
    if (this.inFlight === undefined && this.lastFailure !== undefined && this.now() - this.attemptedAt < this.retryAfterFailureMs) {
      return Promise.reject(this.lastFailure);
    }
    return this.fetch();
  }

  private fetch(): Promise<string> {
    if (this.inFlight) return this.inFlight;
    this.attemptedAt = this.now();
    this.inFlight = this.readSecret()
      .then((value) => {
        if (value === '') throw new Error('the origin-verify secret is empty');
        this.secret = value;
        this.lastFailure = undefined;
        return value;
      })
      .catch((error: unknown) => {
        this.lastFailure = error;
        throw error;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
