import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Deadlines } from '../../../../lambda/runtime/cache/deadlines';
import { NODE } from '../../../support/tsx';

/** A clock the test moves; the timer's delay is computed from it, so 0 ms timers fire at once. */
function clock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Waits for `condition` (real timers can run late on a loaded machine: no fixed sleeps). */
async function until(condition: () => boolean): Promise<void> {
  const giveUp = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error('condition not met within 10 s');
    await tick();
  }
}

describe('Deadlines', () => {
  test('a command that settles in time is not timed out, and leaves the set', async () => {
    const c = clock();
    const deadlines = new Deadlines(c.now);
    const timedOut: string[] = [];
    const entry = deadlines.track(50, () => timedOut.push('a'));
    expect(deadlines.size).toBe(1);
    expect(deadlines.settle(entry)).toBe(true);
    expect(deadlines.size).toBe(0);
    c.advance(100);
    await tick();
    await tick();
    expect(timedOut).toEqual([]);
  });

  test('every command past its deadline times out once, the others wait for theirs', async () => {
    const c = clock();
    const deadlines = new Deadlines(c.now);
    const timedOut: string[] = [];
    const early = deadlines.track(50, () => timedOut.push('early'));
    c.advance(30);
    deadlines.track(50, () => timedOut.push('late'));
    c.advance(25); // early is 5 ms past its deadline, late has 25 ms left
    await until(() => timedOut.length > 0);
    await tick();
    expect(timedOut).toEqual(['early']);
    // A reply that comes after the timeout is ignored by the caller.
    expect(deadlines.settle(early)).toBe(false);
    c.advance(30);
    await until(() => timedOut.length > 1);
    expect(timedOut).toEqual(['early', 'late']);
    expect(deadlines.size).toBe(0);
  });

  test('a command with a shorter bound than those pending re-arms the timer for itself', async () => {
    const c = clock();
    const deadlines = new Deadlines(c.now);
    const timedOut: string[] = [];
    deadlines.track(60_000, () => timedOut.push('long'));
    deadlines.track(10, () => timedOut.push('short'));
    c.advance(11);
    await until(() => timedOut.length > 0);
    await tick();
    expect(timedOut).toEqual(['short']);
    expect(deadlines.size).toBe(1);
  });

  test('a reply read in the same loop turn as the timer fires wins over the timeout (event-loop lag)', async () => {
    const c = clock();
    const deadlines = new Deadlines(c.now);
    const timedOut: string[] = [];
    const entry = deadlines.track(5, () => timedOut.push('a'));
    c.advance(10);
    // The loop is blocked past the timer; the reply is read in the same turn, before the check phase
    // (an immediate queued before the timer fires stands for it).
    const until = Date.now() + 20;
    while (Date.now() < until);
    let inTime: boolean | undefined;
    setImmediate(() => (inTime = deadlines.settle(entry)));
    await tick();
    await tick();
    expect(inTime).toBe(true);
    expect(timedOut).toEqual([]);
  });

  test('real time: a command nobody answers times out after its bound', async () => {
    const deadlines = new Deadlines();
    const started = performance.now();
    const elapsed = await new Promise<number>((resolve) => deadlines.track(30, () => resolve(performance.now() - started)));
    expect(elapsed).toBeGreaterThanOrEqual(29);
  });

  test('the timer keeps no process alive: a process whose only pending thing is a 60 s deadline exits at once', () => {
    const script = "const { Deadlines } = require('./lambda/runtime/cache/deadlines.ts'); new Deadlines().track(60000, () => { process.exitCode = 3; });";
    const started = Date.now();
    const run = spawnSync(NODE, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '../../../..'), encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('Deadlines: its one timer', () => {
  /** Timers the test fires by hand, recording every delay asked for and every clear. */
  function recordingTimers() {
    const armed: { ms: number; fire: () => void; cleared: boolean; fired: boolean; unrefd: boolean }[] = [];
    return {
      armed,
      /** Armed, neither cleared nor fired yet. */
      live: () => armed.filter((t) => !t.cleared && !t.fired),
      timers: {
        setTimeout: (callback: () => void, ms: number) => {
          const timer = {
            ms,
            fire: () => {
              timer.fired = true;
              callback();
            },
            cleared: false,
            fired: false,
            unrefd: false,
            unref: () => (timer.unrefd = true),
          };
          armed.push(timer);
          return timer;
        },
        clearTimeout: (timer: { unref(): unknown } | undefined) => {
          if (timer !== undefined) (timer as unknown as { cleared: boolean }).cleared = true;
        },
      },
    };
  }

  test('commands with the same bound share one timer, armed for the first deadline, unref\'d', () => {
    const c = clock();
    const t = recordingTimers();
    const deadlines = new Deadlines(c.now, t.timers);
    deadlines.track(50, () => undefined);
    c.advance(10);
    deadlines.track(50, () => undefined);
    deadlines.track(50, () => undefined);
    expect(t.armed.map((x) => [x.ms, x.cleared, x.unrefd])).toEqual([[50, false, true]]);
  });

  test('a shorter bound clears the timer and arms one for itself; an equal deadline does not re-arm', () => {
    const c = clock();
    const t = recordingTimers();
    const deadlines = new Deadlines(c.now, t.timers);
    deadlines.track(1_000, () => undefined);
    deadlines.track(1_000, () => undefined);
    deadlines.track(200.5, () => undefined);
    expect(t.armed.map((x) => [x.ms, x.cleared])).toEqual([
      [1_000, true],
      [201, false],
    ]);
  });

  test('when it fires: expires what is due (a deadline reached exactly included), then re-arms for the earliest left', async () => {
    const c = clock();
    const t = recordingTimers();
    const deadlines = new Deadlines(c.now, t.timers);
    const timedOut: string[] = [];
    deadlines.track(100, () => timedOut.push('a'));
    deadlines.track(50, () => timedOut.push('b'));
    deadlines.track(200, () => timedOut.push('c'));
    c.advance(50);
    t.live()[0].fire();
    await until(() => timedOut.length > 0);
    expect(timedOut).toEqual(['b']);
    expect(t.live().map((x) => x.ms)).toEqual([50]);
    c.advance(50);
    t.live()[0].fire();
    await until(() => timedOut.length > 1);
    expect(t.live().map((x) => x.ms)).toEqual([100]);
    c.advance(100);
    t.live()[0].fire();
    await until(() => timedOut.length > 2);
    expect(timedOut).toEqual(['b', 'a', 'c']);
    // Nothing is pending: no timer is armed again.
    expect(t.live()).toEqual([]);
    expect(t.armed.length).toBe(4);
  });

  test('a timer that fires early (nothing due) re-arms for the rest of the wait', () => {
    const c = clock();
    const t = recordingTimers();
    const deadlines = new Deadlines(c.now, t.timers);
    deadlines.track(100, () => undefined);
    c.advance(40);
    t.armed[0].fire();
    expect(t.armed.map((x) => x.ms)).toEqual([100, 60]);
    expect(deadlines.size).toBe(1);
  });
});
