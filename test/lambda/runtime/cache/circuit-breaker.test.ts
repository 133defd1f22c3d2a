import { CacheUnavailableError } from '../../../../lambda/runtime/errors';
import { CircuitBreaker, CircuitState } from '../../../../lambda/runtime/cache';

function harness(options = { failureThreshold: 3, failureWindowMs: 1_000, coolDownMs: 5_000 }) {
  let now = 0;
  const transitions: string[] = [];
  const breaker = new CircuitBreaker(options, { clock: () => now, onStateChange: (from, to) => transitions.push(`${from}->${to}`) });
  let calls = 0;
  const fail = () =>
    breaker.execute(async () => {
      calls += 1;
      throw new Error('ECONNREFUSED');
    });
  const succeed = () =>
    breaker.execute(async () => {
      calls += 1;
      return 'ok';
    });
  return {
    breaker,
    transitions,
    fail,
    succeed,
    calls: () => calls,
    advance: (ms: number) => (now += ms),
  };
}

describe('CircuitBreaker', () => {
  test('opens after N consecutive failures and then fails fast without calling the operation', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow('ECONNREFUSED');
    expect(h.breaker.state).toBe(CircuitState.OPEN);
    await expect(h.succeed()).rejects.toThrow(CacheUnavailableError);
    await expect(h.succeed()).rejects.toThrow('cache circuit is open');
    expect(h.calls()).toBe(3);
  });

  test('a success resets the count of consecutive failures', async () => {
    const h = harness();
    await expect(h.fail()).rejects.toThrow();
    await expect(h.fail()).rejects.toThrow();
    await h.succeed();
    await expect(h.fail()).rejects.toThrow();
    await expect(h.fail()).rejects.toThrow();
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
  });

  test('failures spread wider than the window do not open it', async () => {
    const h = harness();
    await expect(h.fail()).rejects.toThrow();
    await expect(h.fail()).rejects.toThrow();
    h.advance(1_500);
    await expect(h.fail()).rejects.toThrow();
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
  });

  test('after the cool-down one probe goes through while others still fail fast; its success closes the circuit', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow();
    h.advance(4_999);
    await expect(h.succeed()).rejects.toThrow(CacheUnavailableError);
    h.advance(1);
    expect(h.breaker.state).toBe(CircuitState.HALF_OPEN);

    let finishProbe!: () => void;
    const probe = h.breaker.execute(() => new Promise<string>((resolve) => (finishProbe = () => resolve('probe ok'))));
    await expect(h.succeed()).rejects.toThrow('cache circuit is half_open');
    finishProbe();
    await expect(probe).resolves.toBe('probe ok');
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
    await expect(h.succeed()).resolves.toBe('ok');
    expect(h.transitions).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  test('a failed probe opens the circuit for another cool-down', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow();
    h.advance(5_000);
    await expect(h.fail()).rejects.toThrow('ECONNREFUSED');
    expect(h.breaker.state).toBe(CircuitState.OPEN);
    h.advance(4_000);
    await expect(h.succeed()).rejects.toThrow(CacheUnavailableError);
    h.advance(1_000);
    await expect(h.succeed()).resolves.toBe('ok');
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
  });

  test('errors the caller classifies as not failures do not count', async () => {
    const h = harness();
    for (let i = 0; i < 5; i++) {
      await expect(
        h.breaker.execute(
          async () => {
            throw new Error('WRONGTYPE');
          },
          () => false,
        ),
      ).rejects.toThrow('WRONGTYPE');
    }
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
  });

  test.each([
    ['failureThreshold', { failureThreshold: 0 }, 'circuit breaker failureThreshold must be a positive integer, got 0'],
    ['failureWindowMs', { failureWindowMs: -1 }, 'circuit breaker failureWindowMs must be a positive integer, got -1'],
    ['coolDownMs', { coolDownMs: 1.5 }, 'circuit breaker coolDownMs must be a positive integer, got 1.5'],
  ])('rejects a bad %s', (_name, options, message) => {
    expect(() => new CircuitBreaker(options)).toThrow(message);
  });

  test('defaults: 5 failures within 10 s open it for 5 s', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({}, { clock: () => now });
    expect([breaker.failureThreshold, breaker.failureWindowMs, breaker.coolDownMs]).toEqual([5, 10_000, 5_000]);
    const fail = () => breaker.execute(async () => Promise.reject(new Error('down')));
    for (let i = 0; i < 4; i++) await expect(fail()).rejects.toThrow('down');
    expect(breaker.state).toBe(CircuitState.CLOSED);
    await expect(fail()).rejects.toThrow('down');
    expect(breaker.state).toBe(CircuitState.OPEN);
    now = 4_999;
    expect(breaker.state).toBe(CircuitState.OPEN);
    now = 5_000;
    expect(breaker.state).toBe(CircuitState.HALF_OPEN);
  });

  test('a failure exactly at the end of the window still counts; one past it starts a new count', async () => {
    const h = harness();
    await expect(h.fail()).rejects.toThrow();
    h.advance(500);
    await expect(h.fail()).rejects.toThrow();
    h.advance(500);
    await expect(h.fail()).rejects.toThrow();
    expect(h.breaker.state).toBe(CircuitState.OPEN);

    const late = harness();
    await expect(late.fail()).rejects.toThrow();
    await expect(late.fail()).rejects.toThrow();
    late.advance(1_001);
    await expect(late.fail()).rejects.toThrow();
    await expect(late.fail()).rejects.toThrow();
    expect(late.breaker.state).toBe(CircuitState.CLOSED);
    await expect(late.fail()).rejects.toThrow();
    expect(late.breaker.state).toBe(CircuitState.OPEN);
  });

  test('the window counts from the first failure of the run, not the last', async () => {
    const h = harness();
    await expect(h.fail()).rejects.toThrow();
    h.advance(600);
    await expect(h.fail()).rejects.toThrow();
    h.advance(600);
    // 1 200 ms after the first failure: the run starts again with this one.
    await expect(h.fail()).rejects.toThrow();
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
  });

  test('after a success, a new run of failures counts its window from its own first failure', async () => {
    const h = harness();
    await expect(h.fail()).rejects.toThrow();
    h.advance(100);
    await h.succeed();
    h.advance(800);
    // 900, 1 000 and 1 100 ms: three failures within 200 ms of each other, though more than 1 s after the first run began.
    await expect(h.fail()).rejects.toThrow();
    h.advance(100);
    await expect(h.fail()).rejects.toThrow();
    h.advance(100);
    await expect(h.fail()).rejects.toThrow();
    expect(h.breaker.state).toBe(CircuitState.OPEN);
  });

  test('a threshold of 1 opens on the first failure; the open circuit names its state', async () => {
    const h = harness({ failureThreshold: 1, failureWindowMs: 1, coolDownMs: 1 });
    await expect(h.fail()).rejects.toThrow('ECONNREFUSED');
    expect(h.transitions).toEqual(['closed->open']);
    await expect(h.breaker.execute(async () => 1)).rejects.toThrow(new CacheUnavailableError('cache circuit is open; bypassing the cache'));
  });

  test('an error that is not a failure closes a half-open circuit, as a success does', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow();
    h.advance(5_000);
    await expect(h.breaker.execute(async () => Promise.reject(new Error('WRONGTYPE')), () => false)).rejects.toThrow('WRONGTYPE');
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
    expect(h.transitions).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
    expect(h.calls()).toBe(3);
  });

  test('isFailure sees the error; failures while open are not counted twice', async () => {
    const h = harness();
    const seen: unknown[] = [];
    const error = new Error('boom');
    await expect(h.breaker.execute(async () => Promise.reject(error), (e) => (seen.push(e), true))).rejects.toBe(error);
    expect(seen).toEqual([error]);
    for (let i = 0; i < 2; i++) await expect(h.fail()).rejects.toThrow();
    expect(h.transitions).toEqual(['closed->open']);
  });

  test('after a failed probe the next probe is let through after a further full cool-down', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow();
    h.advance(5_000);
    await expect(h.fail()).rejects.toThrow('ECONNREFUSED');
    expect(h.transitions).toEqual(['closed->open', 'open->half_open', 'half_open->open']);
    h.advance(4_999);
    expect(h.breaker.state).toBe(CircuitState.OPEN);
    h.advance(1);
    expect(h.breaker.state).toBe(CircuitState.HALF_OPEN);
    // The failed probe reset the count: once closed again, it takes the full threshold to reopen.
    await expect(h.succeed()).resolves.toBe('ok');
    await expect(h.fail()).rejects.toThrow();
    await expect(h.fail()).rejects.toThrow();
    expect(h.breaker.state).toBe(CircuitState.CLOSED);
  });

  test('without a clock it runs on Date.now', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 60_000 });
    await expect(breaker.execute(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(breaker.state).toBe(CircuitState.OPEN);
  });

  describe('a call that started while the circuit was closed and ends later', () => {
    /** A call the test finishes by hand. */
    function slowCall(breaker: CircuitBreaker) {
      let settle!: (ok: boolean) => void;
      const done = breaker.execute(() => new Promise<string>((resolve, reject) => (settle = (ok) => (ok ? resolve('late ok') : reject(new Error('late failure'))))));
      return { done, succeed: () => settle(true), fail: () => settle(false) };
    }

    test('does not end the probe of a half-open circuit: a second probe is still refused', async () => {
      const h = harness();
      const slow = slowCall(h.breaker);
      for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow();
      h.advance(5_000);
      let finishProbe!: () => void;
      const probe = h.breaker.execute(() => new Promise<string>((resolve) => (finishProbe = () => resolve('probe ok'))));
      slow.succeed();
      await expect(slow.done).resolves.toBe('late ok');
      // The late success closed the circuit: calls go through again, the probe included.
      finishProbe();
      await expect(probe).resolves.toBe('probe ok');
      expect(h.breaker.state).toBe(CircuitState.CLOSED);
    });

    test('a late failure while the circuit is open does not restart its cool-down', async () => {
      const h = harness({ failureThreshold: 1, failureWindowMs: 1_000, coolDownMs: 5_000 });
      const slow = slowCall(h.breaker);
      await expect(h.fail()).rejects.toThrow('ECONNREFUSED');
      expect(h.breaker.state).toBe(CircuitState.OPEN);
      h.advance(4_000);
      slow.fail();
      await expect(slow.done).rejects.toThrow('late failure');
      h.advance(1_000);
      // 5 s after the circuit opened: half-open, whatever failed in between.
      expect(h.breaker.state).toBe(CircuitState.HALF_OPEN);
      expect(h.transitions).toEqual(['closed->open']);
    });

    test('a late failure during a probe reopens the circuit, and the probe still in flight keeps the next one out', async () => {
      const h = harness();
      const slow = slowCall(h.breaker);
      for (let i = 0; i < 3; i++) await expect(h.fail()).rejects.toThrow();
      h.advance(5_000);
      let finishProbe!: () => void;
      const probe = h.breaker.execute(() => new Promise<string>((resolve) => (finishProbe = () => resolve('probe ok'))));
      slow.fail();
      await expect(slow.done).rejects.toThrow('late failure');
      expect(h.breaker.state).toBe(CircuitState.OPEN);
      h.advance(5_000);
      // Half-open again, but the first probe has not returned: no second one goes through.
      await expect(h.succeed()).rejects.toThrow('cache circuit is half_open');
      finishProbe();
      await expect(probe).resolves.toBe('probe ok');
      expect(h.breaker.state).toBe(CircuitState.CLOSED);
    });
  });
});
