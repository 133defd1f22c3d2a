/**
 * Command timeouts without a timer per command. A cache hit is one Redis round trip of a few tens of
 * microseconds; a `setTimeout` and `clearTimeout` for each command was a measurable share of it
 * (bench/hit-path). Here one timer, armed for the earliest deadline, serves every pending command of
 * a client: a command only joins a set and leaves it. Commands of one client share one bound, so the
 * timer is re-armed only when it fires, or when a command with a shorter bound arrives.
 *
 * The timer is unref'd: it never keeps a process alive by itself, and a pending command always does
 * (its socket is referenced), so a command can still time out while anything waits for it.
 */
import { performance } from 'node:perf_hooks';

/** A command being waited for; see {@link Deadlines.track}. */
export interface PendingCommand {
  readonly deadline: number;
  settled: boolean;
  readonly onTimeout: () => void;
}

/**
 * Calls `entry.onTimeout` one `setImmediate` later, unless its reply was read meanwhile: on a busy
 * event loop the timers phase runs before the I/O phase, so a reply that arrived in time but has not
 * been read yet would otherwise count as a timeout (and, five of them in a row, open the circuit for
 * nothing).
 */
function expire(entry: PendingCommand): void {
  setImmediate(() => {
    if (entry.settled) return;
    entry.settled = true;
    entry.onTimeout();
  });
}

/** The timer functions Deadlines uses (Node's own by default; tests pass recording ones). */
export interface DeadlineTimers {
  setTimeout(callback: () => void, ms: number): { unref(): unknown };
  clearTimeout(timer: { unref(): unknown } | undefined): void;
}

const NODE_TIMERS: DeadlineTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

export class Deadlines {
  private readonly pending = new Set<PendingCommand>();
  private timer: { unref(): unknown } | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly timers: DeadlineTimers = NODE_TIMERS,
  ) {}

  /** How many commands are waiting for their reply. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Starts the clock of a command: `onTimeout` is called once `ms` have passed, unless
   * {@link settle} is called first. Call `settle(entry)` when the reply (or error) arrives.
   */
  track(ms: number, onTimeout: () => void): PendingCommand {
    const entry: PendingCommand = { deadline: this.now() + ms, settled: false, onTimeout };
    this.pending.add(entry);
    if (entry.deadline < this.timerAt) this.arm(entry.deadline);
    return entry;
  }

  /** Ends the clock of `entry`: true when the reply is in time, false when the command already timed out. */
  settle(entry: PendingCommand): boolean {
    this.pending.delete(entry);
    if (entry.settled) return false;
    entry.settled = true;
    return true;
  }

  private arm(deadline: number): void {
    // Clearing no timer (undefined) is a no-op.
    this.timers.clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = this.timers.setTimeout(() => this.sweep(), Math.max(0, Math.ceil(deadline - this.now())));
    this.timer.unref();
  }

  /** Expires every command past its deadline and re-arms for the earliest of the others. */
  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(entry);
        expire(entry);
      } else next = Math.min(next, entry.deadline);
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
