import { OriginVerifier } from '../../../../lambda/runtime/http/origin-verify';

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

  test('an unreadable secret fails loudly and is retried by the next request', async () => {
    const source = secretSource('FAIL', 'v');
    const verifier = new OriginVerifier(source.read);
    await expect(verifier.verify('v')).rejects.toThrow('Secrets Manager unavailable');
    expect(await verifier.verify('v')).toBe(true);
  });

  test('an empty secret is refused rather than matching an empty header', async () => {
    const verifier = new OriginVerifier(async () => '');
    await expect(verifier.load()).rejects.toThrow('the origin-verify secret is empty');
  });
});
