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
});
