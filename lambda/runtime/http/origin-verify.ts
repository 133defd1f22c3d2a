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
 *
 * Rotation without an outage: the secret may be JSON `{"current", "previous", "rotatedAt"}` (what the
 * stack's secret rotator writes, see docs/deploying.md "Rotating secrets"). The previous value is
 * accepted until `previousValueWindowMs` after `rotatedAt` and refused afterwards, so CloudFront's
 * edges may keep sending it while the distribution change propagates. A plain string is the current
 * value alone. Because a re-read returns both values, a wrong header that makes a sandbox re-read
 * cannot make it refuse CloudFront's value either.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/** Minimum time between two reads of the secret, unless the verifier is told otherwise. */
export const DEFAULT_ORIGIN_VERIFY_REFRESH_MS = 300_000;
/** How long after `rotatedAt` the previous value is still accepted, unless the verifier is told otherwise. */
export const DEFAULT_PREVIOUS_VALUE_WINDOW_MS = 3_600_000;

/** The values a secret holds: the one CloudFront is (or will be) sending, and the one it may still send. */
export interface OriginVerifySecretValues {
  readonly current: string;
  /** The value before the last rotation. @default - none */
  readonly previous?: string;
  /** When `current` replaced `previous`, in milliseconds since the epoch. @default - none: `previous` is never accepted */
  readonly rotatedAt?: number;
}

/**
 * The values of an origin-verify secret: a plain string is the current value; JSON is
 * `{"current": "…", "previous": "…", "rotatedAt": "<ISO 8601>"}` with `previous` and `rotatedAt`
 * optional. Throws on malformed JSON or an empty current value.
 */
export function parseOriginVerifySecret(text: string): OriginVerifySecretValues {
  if (!text.trimStart().startsWith('{')) {
    if (text === '') throw new Error('the origin-verify secret is empty');
    return { current: text };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('the origin-verify secret looks like JSON but does not parse');
  }
  if (typeof parsed.current !== 'string' || parsed.current === '') throw new Error('the origin-verify secret JSON must hold a non-empty "current" string');
  const previous = typeof parsed.previous === 'string' && parsed.previous !== '' ? parsed.previous : undefined;
  const rotatedAt = typeof parsed.rotatedAt === 'string' ? Date.parse(parsed.rotatedAt) : Number.NaN;
  return { current: parsed.current, ...(previous === undefined ? {} : { previous }), ...(Number.isNaN(rotatedAt) ? {} : { rotatedAt }) };
}

/** The secret JSON the rotator writes for `values` (`rotatedAt` as ISO 8601). */
export function formatOriginVerifySecret(values: OriginVerifySecretValues): string {
  // JSON.stringify leaves out an undefined `previous`.
  return JSON.stringify({
    current: values.current,
    previous: values.previous,
    ...(values.rotatedAt === undefined ? {} : { rotatedAt: new Date(values.rotatedAt).toISOString() }),
  });
}

export interface OriginVerifierOptions {
  /** Minimum time between two reads of the secret. @default 300000 */
  readonly refreshIntervalMs?: number;
  /** Minimum time between two reads while no secret is known yet (the first read failed). @default 1000 */
  readonly retryAfterFailureMs?: number;
  /** How long after the secret's `rotatedAt` its `previous` value is still accepted. @default 3600000 */
  readonly previousValueWindowMs?: number;
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
  private secret?: OriginVerifySecretValues;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastFailure?: unknown;
  private inFlight?: Promise<OriginVerifySecretValues>;
  private readonly refreshIntervalMs: number;
  private readonly retryAfterFailureMs: number;
  private readonly previousValueWindowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly readSecret: () => Promise<string>,
    options: OriginVerifierOptions = {},
  ) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_ORIGIN_VERIFY_REFRESH_MS;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 1_000;
    this.previousValueWindowMs = options.previousValueWindowMs ?? DEFAULT_PREVIOUS_VALUE_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /** Reads the secret now (at cold start), so that no request waits for it. */
  async load(): Promise<void> {
    await this.fetch();
  }

  /**
   * True when `presented` equals the current value, or the previous one within its window. Throws
   * only when no secret has ever been read.
   */
  async verify(presented: string | undefined): Promise<boolean> {
    const known = this.secret ?? (await this.firstSecret());
    if (presented === undefined || presented === '') return false;
    if (this.accepts(known, presented)) return true;
    if (this.inFlight === undefined && this.now() - this.attemptedAt < this.refreshIntervalMs) return false;
    try {
      return this.accepts(await this.fetch(), presented);
    } catch {
      // The known secret stays in use; the failed attempt counts for the throttle.
      return false;
    }
  }

  private accepts(values: OriginVerifySecretValues, presented: string): boolean {
    if (sameSecret(presented, values.current)) return true;
    // Equivalent mutant left to survive: without `|| values.rotatedAt === undefined`, the window check
    // below compares NaN, which is false as well.
    if (values.previous === undefined || values.rotatedAt === undefined) return false;
    return this.now() - values.rotatedAt < this.previousValueWindowMs && sameSecret(presented, values.previous);
  }

  /** While no secret is known: one read per `retryAfterFailureMs` at most, the last error otherwise. */
  // Equivalent mutants left to survive on the condition below: with no read attempted yet, attemptedAt
  // is -Infinity, so the elapsed time is never under the retry interval whatever the other two terms say.
  private firstSecret(): Promise<OriginVerifySecretValues> {
    if (this.inFlight === undefined && this.lastFailure !== undefined && this.now() - this.attemptedAt < this.retryAfterFailureMs) {
      return Promise.reject(this.lastFailure);
    }
    return this.fetch();
  }

  private fetch(): Promise<OriginVerifySecretValues> {
    if (this.inFlight) return this.inFlight;
    this.attemptedAt = this.now();
    this.inFlight = this.readSecret()
      .then((text) => {
        const values = parseOriginVerifySecret(text);
        this.secret = values;
        this.lastFailure = undefined;
        return values;
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
