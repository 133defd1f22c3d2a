import { CacheUnavailableError } from '../errors';

/** Where a {@link CircuitBreaker} stands. */
export enum CircuitState {
  /** Calls go through; consecutive failures are counted. */
  CLOSED = 'closed',
  /** Calls fail fast with `CacheUnavailableError` until the cool-down ends. */
  OPEN = 'open',
  /** The cool-down ended: one probe call goes through, the others still fail fast. */
  HALF_OPEN = 'half_open',
}

export interface CircuitBreakerOptions {
  /** Consecutive failures (within `failureWindowMs`) that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** A failure older than this no longer counts towards the threshold. @default 10_000 */
  readonly failureWindowMs?: number;
  /** How long the circuit stays open before one probe is let through. @default 5_000 */
  readonly coolDownMs?: number;
}

export const DEFAULT_CIRCUIT_BREAKER: Required<CircuitBreakerOptions> = {
  failureThreshold: 5,
  failureWindowMs: 10_000,
  coolDownMs: 5_000,
};

export interface CircuitBreakerDeps {
  /** Milliseconds; injectable so tests drive the cool-down without sleeping. @default Date.now */
  readonly clock?: () => number;
  /** Told about every transition, e.g. to log that the cache is being bypassed. */
  readonly onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

/**
 * A closed/open/half-open circuit breaker. After `failureThreshold` consecutive failures within
 * `failureWindowMs` it opens: every call fails at once with {@link CacheUnavailableError}, so that a
 * dead or hung cache costs the caller nothing while it is open. After `coolDownMs` a single probe goes
 * through; success closes the circuit, failure opens it for another cool-down.
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly failureWindowMs: number;
  readonly coolDownMs: number;
  private readonly clock: () => number;
  private readonly onStateChange?: (from: CircuitState, to: CircuitState) => void;
  private current = CircuitState.CLOSED;
  private failures = 0;
  private firstFailureAt = 0;
  private openedAt = 0;
  private probeInFlight = false;

  constructor(options: CircuitBreakerOptions = {}, deps: CircuitBreakerDeps = {}) {
    this.failureThreshold = positiveInteger('failureThreshold', options.failureThreshold ?? DEFAULT_CIRCUIT_BREAKER.failureThreshold);
    this.failureWindowMs = positiveInteger('failureWindowMs', options.failureWindowMs ?? DEFAULT_CIRCUIT_BREAKER.failureWindowMs);
    this.coolDownMs = positiveInteger('coolDownMs', options.coolDownMs ?? DEFAULT_CIRCUIT_BREAKER.coolDownMs);
    this.clock = deps.clock ?? Date.now;
    this.onStateChange = deps.onStateChange;
  }

  /** The state as of now (an open circuit whose cool-down has ended reads as half-open). */
  get state(): CircuitState {
    if (this.current === CircuitState.OPEN && this.clock() - this.openedAt >= this.coolDownMs) {
      return CircuitState.HALF_OPEN;
    }
    return this.current;
  }

  /**
   * Runs `operation` unless the circuit is open. `isFailure` decides which errors count against the
   * circuit (by default all); every error is rethrown unchanged.
   */
  async execute<T>(operation: () => Promise<T>, isFailure: (error: unknown) => boolean = () => true): Promise<T> {
    const probe = this.admit();
    try {
      const value = await operation();
      this.settle(probe, false);
      return value;
    } catch (error) {
      this.settle(probe, isFailure(error));
      throw error;
    }
  }

  /**
   * The two halves of {@link execute}, for callers on a hot path that settle the call themselves:
   * `admit()` before the operation (throws when the circuit is open), `settle(probe, failed)` once it
   * has settled, with what `admit()` returned.
   */
  settle(probe: boolean, failed: boolean): void {
    if (failed) this.recordFailure();
    else this.recordSuccess();
    if (probe) this.probeInFlight = false;
  }

  /** Returns true when this call is the half-open probe; throws when the call must fail fast. */
  admit(): boolean {
    const state = this.state;
    if (state === CircuitState.CLOSED) return false;
    if (state === CircuitState.HALF_OPEN && !this.probeInFlight) {
      this.transition(CircuitState.HALF_OPEN);
      this.probeInFlight = true;
      return true;
    }
    throw new CacheUnavailableError(`cache circuit is ${state}; bypassing the cache`);
  }

  private recordSuccess(): void {
    this.failures = 0;
    // Equivalent mutant left to survive: without the check, transition() returns early on a closed circuit itself.
    if (this.current !== CircuitState.CLOSED) this.transition(CircuitState.CLOSED);
  }

  private recordFailure(): void {
    const now = this.clock();
    if (this.current === CircuitState.HALF_OPEN) {
      this.open(now);
      return;
    }
    if (this.current === CircuitState.OPEN) return;
    if (this.failures === 0 || now - this.firstFailureAt > this.failureWindowMs) {
      this.failures = 0;
      this.firstFailureAt = now;
    }
    this.failures += 1;
    if (this.failures >= this.failureThreshold) this.open(now);
  }

  private open(now: number): void {
    this.openedAt = now;
    this.failures = 0;
    this.transition(CircuitState.OPEN);
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    // Equivalent mutant left to survive: no caller moves to the state already held (recordSuccess checks,
    // recordFailure returns while open, admit moves from open), so this guard never fires today.
    if (from === to) return;
    this.current = to;
    this.onStateChange?.(from, to);
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`circuit breaker ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
