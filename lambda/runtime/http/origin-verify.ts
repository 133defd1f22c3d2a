/**
 * The origin lock: only CloudFront knows the value of the `x-origin-verify` header it adds to every
 * request, so a caller that reaches the API directly (bypassing the CDN, its WAF and its caching)
 * is refused.
 *
 * The secret is read once per sandbox and kept. A request whose header does not match makes the
 * verifier re-read the secret, at most once per `refreshIntervalMs`, so that a rotated value is
 * accepted within that interval while a flood of wrong headers cannot flood Secrets Manager.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

export interface OriginVerifierOptions {
  /** Minimum time between two reads of the secret. @default 300000 */
  readonly refreshIntervalMs?: number;
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
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inFlight?: Promise<string>;
  private readonly refreshIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly readSecret: () => Promise<string>,
    options: OriginVerifierOptions = {},
  ) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /** Reads the secret now (at cold start), so that no request waits for it. */
  async load(): Promise<void> {
    await this.fetch();
  }

  /** True when `presented` equals the secret. Throws only when the secret cannot be read at all. */
  async verify(presented: string | undefined): Promise<boolean> {
    const current = this.secret ?? (await this.fetch());
    if (presented === undefined || presented === '') return false;
    if (sameSecret(presented, current)) return true;
    if (this.now() - this.fetchedAt < this.refreshIntervalMs) return false;
    return sameSecret(presented, await this.fetch());
  }

  private fetch(): Promise<string> {
    this.inFlight ??= this.readSecret()
      .then((value) => {
        if (value === '') throw new Error('the origin-verify secret is empty');
        this.secret = value;
        this.fetchedAt = this.now();
        return value;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
