import {
  DEFAULT_ORIGIN_VERIFY_REFRESH_MS,
  DEFAULT_PREVIOUS_VALUE_WINDOW_MS,
  formatOriginVerifySecret,
  ORIGIN_VERIFY_HEADER,
  OriginVerifier,
  parseOriginVerifySecret,
} from '../../../../lambda/runtime/http/origin-verify';

function secretSource(...values: string[]) {
  let reads = 0;
  return {
    read: async () => {
      const value = values[Math.min(reads, values.length - 1)];
      reads += 1;
      if (value === 'FAIL') throw new Error('Secrets Manager unavailable');
      return value;
    },
    reads: () => reads,
  };
}

describe('OriginVerifier', () => {
  test('accepts only the exact secret, reading it once', async () => {
    const source = secretSource('s3cr3t-value');
    const verifier = new OriginVerifier(source.read);
    await verifier.load();
    expect(await verifier.verify('s3cr3t-value')).toBe(true);
    expect(await verifier.verify('s3cr3t-valuE')).toBe(false);
    expect(await verifier.verify('s3cr3t')).toBe(false);
    expect(await verifier.verify(undefined)).toBe(false);
    expect(await verifier.verify('')).toBe(false);
    expect(source.reads()).toBe(1);
  });

  test('picks up a rotated secret on a mismatch, at most once per refresh interval', async () => {
    let now = 0;
    const source = secretSource('old', 'new');
    const verifier = new OriginVerifier(source.read, { refreshIntervalMs: 60_000, now: () => now });
    await verifier.load();
    now = 30_000;
    expect(await verifier.verify('new')).toBe(false);
    expect(source.reads()).toBe(1);
    now = 60_000;
    expect(await verifier.verify('new')).toBe(true);
    expect(await verifier.verify('old')).toBe(false);
    expect(source.reads()).toBe(2);
  });

  test('concurrent first requests share one read', async () => {
    const source = secretSource('v');
    const verifier = new OriginVerifier(source.read);
    expect(await Promise.all([verifier.verify('v'), verifier.verify('v'), verifier.verify('x')])).toEqual([true, true, false]);
    expect(source.reads()).toBe(1);
  });

  test('an unreadable secret fails loudly and is read again once retryAfterFailureMs has passed', async () => {
    let now = 0;
    const source = secretSource('FAIL', 'v');
    const verifier = new OriginVerifier(source.read, { retryAfterFailureMs: 1_000, now: () => now });
    await expect(verifier.verify('v')).rejects.toThrow('Secrets Manager unavailable');
    now = 999;
    await expect(verifier.verify('v')).rejects.toThrow('Secrets Manager unavailable');
    expect(source.reads()).toBe(1);
    now = 1_000;
    expect(await verifier.verify('v')).toBe(true);
    expect(source.reads()).toBe(2);
  });

  describe('a failing re-read after a wrong header', () => {
    /** 100 wrong headers over 100 s with the re-read failing; returns how many reads Secrets Manager saw. */
    async function flood(verifier: OriginVerifier, clock: { now: number }): Promise<boolean[]> {
      const answers: boolean[] = [];
      for (let i = 0; i < 100; i++) {
        clock.now = 60_000 + i * 1_000;
        answers.push(await verifier.verify(`wrong-${i}`));
      }
      return answers;
    }

    test('is throttled like a successful one: one attempt per refresh interval, the known secret still accepted', async () => {
      const clock = { now: 0 };
      const source = secretSource('v', 'FAIL');
      const verifier = new OriginVerifier(source.read, { refreshIntervalMs: 60_000, now: () => clock.now });
      await verifier.load();
      const answers = await flood(verifier, clock);
      expect(answers.every((a) => a === false)).toBe(true);
      // One load, then a re-read at 60 s and one at 120 s: the failures do not reset the throttle.
      expect(source.reads()).toBe(3);
      expect(await verifier.verify('v')).toBe(true);
    });

    test('naive: throttling only on successful reads re-reads the secret on every wrong header', async () => {
      const clock = { now: 0 };
      const source = secretSource('v', 'FAIL');
      // The verifier as it was: the interval counted from the last SUCCESSFUL read.
      let fetchedAt = Number.NEGATIVE_INFINITY;
      const naive = {
        secret: undefined as string | undefined,
        async verify(presented: string): Promise<boolean> {
          const fetch = async () => {
            const value = await source.read();
            naive.secret = value;
            fetchedAt = clock.now;
            return value;
          };
          const current = naive.secret ?? (await fetch());
          if (presented === current) return true;
          if (clock.now - fetchedAt < 60_000) return false;
          return presented === (await fetch().catch(() => current));
        },
      };
      await naive.verify('v');
      await flood(naive as unknown as OriginVerifier, clock);
      expect(source.reads()).toBe(1 + 100);
    });
  });

  test('an empty secret is refused rather than matching an empty header', async () => {
    const verifier = new OriginVerifier(async () => '');
    await expect(verifier.load()).rejects.toThrow('the origin-verify secret is empty');
  });

  describe('during a rotation (secret JSON with current, previous and rotatedAt)', () => {
    const rotated = (at: number) => formatOriginVerifySecret({ current: 'new', previous: 'old', rotatedAt: at });

    test('accepts the current and the previous value within the window, and only the current one after it', async () => {
      let now = 1_000_000;
      const verifier = new OriginVerifier(secretSource(rotated(1_000_000)).read, { previousValueWindowMs: 600_000, now: () => now });
      await verifier.load();
      expect(await verifier.verify('new')).toBe(true);
      expect(await verifier.verify('old')).toBe(true);
      now = 1_599_999;
      expect(await verifier.verify('old')).toBe(true);
      now = 1_600_000;
      expect(await verifier.verify('old')).toBe(false);
      expect(await verifier.verify('new')).toBe(true);
    });

    test('a bogus header makes a warm sandbox re-read, and the re-read still accepts the value CloudFront sends', async () => {
      let now = 0;
      const source = secretSource('old', rotated(10_000));
      const verifier = new OriginVerifier(source.read, { refreshIntervalMs: 60_000, now: () => now });
      await verifier.load();
      now = 70_000;
      expect(await verifier.verify('bogus')).toBe(false);
      expect(source.reads()).toBe(2);
      expect(await verifier.verify('old')).toBe(true);
      expect(await verifier.verify('new')).toBe(true);
    });

    test('a bogus-header flood re-reads at most once per refresh interval', async () => {
      let now = 0;
      const source = secretSource(rotated(0));
      const verifier = new OriginVerifier(source.read, { refreshIntervalMs: 60_000, now: () => now });
      await verifier.load();
      for (let i = 0; i < 600; i++) {
        now = i * 500;
        await verifier.verify(`bogus-${i}`);
      }
      // Wrong headers for just under 300 s: the read at load (0 s), then one at 60, 120, 180 and 240 s.
      expect(source.reads()).toBe(1 + 4);
    });

    test('a previous value without rotatedAt is never accepted', async () => {
      const verifier = new OriginVerifier(async () => JSON.stringify({ current: 'new', previous: 'old' }));
      await verifier.load();
      expect(await verifier.verify('old')).toBe(false);
      expect(await verifier.verify('new')).toBe(true);
    });

    test('the secret format is checked', () => {
      expect(parseOriginVerifySecret('plain')).toEqual({ current: 'plain' });
      expect(parseOriginVerifySecret(rotated(0))).toEqual({ current: 'new', previous: 'old', rotatedAt: 0 });
      expect(() => parseOriginVerifySecret('{nope')).toThrow('the origin-verify secret looks like JSON but does not parse');
      expect(() => parseOriginVerifySecret('{"previous":"x"}')).toThrow('the origin-verify secret JSON must hold a non-empty "current" string');
    });
  });
});

describe('the secret format, value by value', () => {
  test('a plain value, even with spaces around it, is the current value as is', () => {
    expect(parseOriginVerifySecret(' v ')).toEqual({ current: ' v ' });
    expect(() => parseOriginVerifySecret('')).toThrow('the origin-verify secret is empty');
  });

  test('JSON may start after white space', () => {
    expect(parseOriginVerifySecret('  \n{"current":"c"}')).toEqual({ current: 'c' });
    expect(() => parseOriginVerifySecret('  {"current":')).toThrow('the origin-verify secret looks like JSON but does not parse');
  });

  test('previous and rotatedAt are kept only when usable', () => {
    expect(parseOriginVerifySecret('{"current":"c","previous":"","rotatedAt":"2026-01-01T00:00:00.000Z"}')).toEqual({ current: 'c', rotatedAt: Date.UTC(2026, 0, 1) });
    expect(parseOriginVerifySecret('{"current":"c","previous":7}')).toEqual({ current: 'c' });
    expect(parseOriginVerifySecret('{"current":"c","previous":"p","rotatedAt":"not a date"}')).toEqual({ current: 'c', previous: 'p' });
    expect(parseOriginVerifySecret('{"current":"c","previous":"p","rotatedAt":1700000000000}')).toEqual({ current: 'c', previous: 'p' });
    // A number is not read as a date, even one Date.parse would take as a year.
    expect(parseOriginVerifySecret('{"current":"c","previous":"p","rotatedAt":2026}')).toEqual({ current: 'c', previous: 'p' });
    expect(Object.keys(parseOriginVerifySecret('{"current":"c"}'))).toEqual(['current']);
  });

  test.each(['{"current":""}', '{"current":5}', '{}', '{"current":null}'])('%s has no usable current value', (text) => {
    expect(() => parseOriginVerifySecret(text)).toThrow('the origin-verify secret JSON must hold a non-empty "current" string');
  });

  test('the rotator writes only the fields it has, rotatedAt as ISO 8601', () => {
    expect(formatOriginVerifySecret({ current: 'c' })).toBe('{"current":"c"}');
    expect(formatOriginVerifySecret({ current: 'c', previous: 'p', rotatedAt: Date.UTC(2026, 0, 1) })).toBe(
      '{"current":"c","previous":"p","rotatedAt":"2026-01-01T00:00:00.000Z"}',
    );
    expect(formatOriginVerifySecret({ current: 'c', rotatedAt: 0 })).toBe('{"current":"c","rotatedAt":"1970-01-01T00:00:00.000Z"}');
  });

  test('the header and the defaults', () => {
    expect(ORIGIN_VERIFY_HEADER).toBe('x-origin-verify');
    expect(DEFAULT_ORIGIN_VERIFY_REFRESH_MS).toBe(300_000);
    expect(DEFAULT_PREVIOUS_VALUE_WINDOW_MS).toBe(3_600_000);
  });
});

describe('OriginVerifier defaults and edges', () => {
  test('by default a wrong header re-reads the secret only after 5 minutes', async () => {
    let now = 0;
    const source = secretSource('old', 'new');
    const verifier = new OriginVerifier(source.read, { now: () => now });
    await verifier.load();
    now = 299_999;
    expect(await verifier.verify('new')).toBe(false);
    expect(source.reads()).toBe(1);
    now = 300_000;
    expect(await verifier.verify('new')).toBe(true);
    expect(source.reads()).toBe(2);
  });

  test('by default the previous value is accepted for an hour after the rotation', async () => {
    let now = 0;
    const verifier = new OriginVerifier(async () => formatOriginVerifySecret({ current: 'new', previous: 'old', rotatedAt: 0 }), { now: () => now });
    await verifier.load();
    now = 3_599_999;
    expect(await verifier.verify('old')).toBe(true);
    now = 3_600_000;
    expect(await verifier.verify('old')).toBe(false);
  });

  test('by default an unreadable secret is tried again after one second', async () => {
    let now = 0;
    const source = secretSource('FAIL', 'v');
    const verifier = new OriginVerifier(source.read, { now: () => now });
    await expect(verifier.load()).rejects.toThrow('Secrets Manager unavailable');
    now = 999;
    await expect(verifier.verify('v')).rejects.toThrow('Secrets Manager unavailable');
    expect(source.reads()).toBe(1);
    now = 1_000;
    expect(await verifier.verify('v')).toBe(true);
  });

  test('without a clock it runs on Date.now: a rotation of a minute ago still accepts the previous value', async () => {
    const verifier = new OriginVerifier(async () => formatOriginVerifySecret({ current: 'new', previous: 'old', rotatedAt: Date.now() - 60_000 }));
    await verifier.load();
    expect(await verifier.verify('old')).toBe(true);
    const expired = new OriginVerifier(async () => formatOriginVerifySecret({ current: 'new', previous: 'old', rotatedAt: Date.now() - 7_200_000 }));
    await expired.load();
    expect(await expired.verify('old')).toBe(false);
  });

  test('the previous value is not accepted as the current one, nor the current one only within the window', async () => {
    let now = 10_000_000;
    const verifier = new OriginVerifier(secretSource(formatOriginVerifySecret({ current: 'new', previous: 'old', rotatedAt: 0 })).read, { now: () => now });
    await verifier.load();
    expect(await verifier.verify('old')).toBe(false);
    expect(await verifier.verify('new')).toBe(true);
    now = 1;
    expect(await verifier.verify('older')).toBe(false);
  });

  test('a wrong header while a re-read is in flight waits for that read', async () => {
    let now = 0;
    let release!: (value: string) => void;
    let reads = 0;
    const verifier = new OriginVerifier(
      () => {
        reads += 1;
        return reads === 1 ? Promise.resolve('old') : new Promise<string>((resolve) => (release = resolve));
      },
      { refreshIntervalMs: 1_000, now: () => now },
    );
    await verifier.load();
    now = 5_000;
    const first = verifier.verify('new');
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    // Within the interval of the attempt just made, but the attempt is still in flight: share it.
    const second = verifier.verify('new');
    release('new');
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(reads).toBe(2);
  });

  test('a failed first read, then a wrong header once a secret is known: false, no error', async () => {
    let now = 0;
    const source = secretSource('FAIL', 'v', 'FAIL');
    const verifier = new OriginVerifier(source.read, { retryAfterFailureMs: 10, refreshIntervalMs: 10, now: () => now });
    await expect(verifier.verify('v')).rejects.toThrow();
    now = 10;
    expect(await verifier.verify('v')).toBe(true);
    now = 20;
    expect(await verifier.verify('x')).toBe(false);
    expect(source.reads()).toBe(3);
    // The failed re-read leaves the known secret in use and does not make verify throw.
    expect(await verifier.verify('v')).toBe(true);
  });

  test('a missing header is refused once a secret is known, without re-reading it', async () => {
    let now = 0;
    const source = secretSource('v');
    const verifier = new OriginVerifier(source.read, { refreshIntervalMs: 1, now: () => now });
    await verifier.load();
    now = 100;
    expect(await verifier.verify(undefined)).toBe(false);
    expect(await verifier.verify('')).toBe(false);
    expect(source.reads()).toBe(1);
  });

  test('a rotatedAt without a previous value accepts the current value only, and does not fail', async () => {
    const verifier = new OriginVerifier(async () => JSON.stringify({ current: 'new', rotatedAt: new Date().toISOString() }));
    await verifier.load();
    expect(await verifier.verify('new')).toBe(true);
    expect(await verifier.verify('old')).toBe(false);
  });

  test('after a failed first read, a request during the retry read shares it rather than failing', async () => {
    let now = 0;
    let reads = 0;
    let release!: (value: string) => void;
    const verifier = new OriginVerifier(
      () => {
        reads += 1;
        return reads === 1 ? Promise.reject(new Error('Secrets Manager unavailable')) : new Promise<string>((resolve) => (release = resolve));
      },
      { retryAfterFailureMs: 1_000, now: () => now },
    );
    await expect(verifier.verify('v')).rejects.toThrow('Secrets Manager unavailable');
    now = 1_000;
    const first = verifier.verify('v');
    await new Promise((resolve) => setImmediate(resolve));
    const second = verifier.verify('v');
    release('v');
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(reads).toBe(2);
  });

  test('the retry interval after a failed first read counts from that read', async () => {
    let now = 5_000;
    const source = secretSource('FAIL', 'v');
    const verifier = new OriginVerifier(source.read, { retryAfterFailureMs: 1_000, now: () => now });
    await expect(verifier.load()).rejects.toThrow('Secrets Manager unavailable');
    now = 5_500;
    await expect(verifier.verify('v')).rejects.toThrow('Secrets Manager unavailable');
    expect(source.reads()).toBe(1);
    now = 6_000;
    expect(await verifier.verify('v')).toBe(true);
    expect(source.reads()).toBe(2);
  });
});
