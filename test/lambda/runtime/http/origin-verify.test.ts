import { formatOriginVerifySecret, OriginVerifier, parseOriginVerifySecret } from '../../../../lambda/runtime/http/origin-verify';

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
