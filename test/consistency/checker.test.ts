import { ConsistencyChecker, Layer, layerOfXCache } from './checker';

const BOUNDS = { [Layer.ORIGIN]: 0, [Layer.REDIS]: 0, [Layer.L1]: 11_000, [Layer.EDGE]: 40_000 };

describe('ConsistencyChecker', () => {
  describe('bounded staleness per layer', () => {
    it('accepts an older version served within the layer bound after the write', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'product:1', version: 2, client: 'a', ackedAt: 1_000 });
      checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.L1, client: 'b', startedAt: 1_000 + 11_000 });
      expect(checker.violations()).toEqual([]);
    });

    it('reports an older version served later than the layer bound', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'product:1', version: 2, client: 'a', ackedAt: 1_000 });
      checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.L1, client: 'b', startedAt: 12_001 });
      const [violation] = checker.violations();
      expect(violation).toMatchObject({ rule: 'staleness-bound', lateByMs: 11_001, write: { version: 2 } });
      expect(() => checker.assertConsistent()).toThrow(/product:1: b read version 1 from l1 11001 ms after a's write of version 2 was acknowledged \(bound of l1: 11000 ms\)/);
    });

    it('allows no staleness at all from a layer without a bound (Redis, the origin)', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'product:1', version: 2, ackedAt: 1_000 });
      checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.REDIS, startedAt: 1_001 });
      checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.STALE, startedAt: 1_001 });
      expect(checker.violations().map((v) => v.read.layer)).toEqual([Layer.REDIS, Layer.STALE]);
    });

    it('ignores reads that started before the write was acknowledged, and versions at least as new', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'product:1', version: 2, ackedAt: 5_000 });
      checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.REDIS, startedAt: 4_999, answeredAt: 6_000 });
      checker.recordRead({ resource: 'product:1', version: 2, layer: Layer.REDIS, startedAt: 9_000 });
      checker.recordRead({ resource: 'product:1', version: 3, layer: Layer.REDIS, startedAt: 9_000 });
      checker.recordRead({ resource: 'product:2', version: 1, layer: Layer.REDIS, startedAt: 9_000 });
      expect(checker.violations()).toEqual([]);
    });

    it('treats "does not exist" as version 0, so a 404 after a create is stale', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'order:7', version: 1, client: 'a', ackedAt: 0 });
      checker.recordRead({ resource: 'order:7', version: 0, layer: Layer.REDIS, client: 'b', startedAt: 30_000 });
      expect(checker.violations()).toHaveLength(1);
    });

    it('reports one violation per read, against the newest write it missed', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'p', version: 2, ackedAt: 0 });
      checker.recordWrite({ resource: 'p', version: 3, ackedAt: 10 });
      checker.recordRead({ resource: 'p', version: 1, layer: Layer.ORIGIN, startedAt: 20 });
      expect(checker.violations().map((v) => v.write.version)).toEqual([3]);
    });
  });

  it('holds a write with bounds of its own to those', () => {
    const checker = new ConsistencyChecker({ bounds: BOUNDS });
    checker.recordWrite({ resource: 'p', version: 2, ackedAt: 0, bounds: { [Layer.REDIS]: 30_000 } });
    checker.recordRead({ resource: 'p', version: 1, layer: Layer.REDIS, startedAt: 30_000 });
    checker.recordRead({ resource: 'p', version: 1, layer: Layer.REDIS, startedAt: 30_001 });
    checker.recordRead({ resource: 'p', version: 1, layer: Layer.L1, startedAt: 11_001 });
    expect(checker.violations().map((v) => [v.read.layer, v.lateByMs])).toEqual([
      [Layer.REDIS, 30_001],
      [Layer.L1, 11_001],
    ]);
  });

  describe('read your writes', () => {
    it('reports the writer reading an older version from L1 even within the L1 bound', () => {
      const checker = new ConsistencyChecker({ bounds: BOUNDS });
      checker.recordWrite({ resource: 'user:1', version: 5, client: 'a', ackedAt: 100 });
      checker.recordRead({ resource: 'user:1', version: 4, layer: Layer.L1, client: 'a', startedAt: 101 });
      expect(checker.violations()).toMatchObject([{ rule: 'read-your-writes' }]);
    });

    it('holds the edge to its bound only, unless the edge is not exempt', () => {
      const lenient = new ConsistencyChecker({ bounds: BOUNDS });
      const strict = new ConsistencyChecker({ bounds: BOUNDS, readYourWritesExempt: [] });
      for (const checker of [lenient, strict]) {
        checker.recordWrite({ resource: 'product:1', version: 2, client: 'a', ackedAt: 100 });
        checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.EDGE, client: 'a', startedAt: 200 });
      }
      expect(lenient.violations()).toEqual([]);
      expect(strict.violations()).toMatchObject([{ rule: 'read-your-writes' }]);
    });
  });

  it('measures per layer the longest staleness a history showed', () => {
    const checker = new ConsistencyChecker({ bounds: BOUNDS });
    checker.recordWrite({ resource: 'p', version: 2, ackedAt: 1_000 });
    checker.recordRead({ resource: 'p', version: 1, layer: Layer.L1, startedAt: 4_000 });
    checker.recordRead({ resource: 'p', version: 1, layer: Layer.L1, startedAt: 9_500 });
    checker.recordRead({ resource: 'p', version: 1, layer: Layer.EDGE, startedAt: 2_000 });
    checker.recordRead({ resource: 'p', version: 2, layer: Layer.REDIS, startedAt: 50_000 });
    expect(checker.measuredStalenessMs()).toEqual({ edge: 1_000, l1: 8_500, redis: 0, stale: 0, origin: 0 });
  });

  it('refuses a negative bound and a version that is not a non-negative integer', () => {
    expect(() => new ConsistencyChecker({ bounds: { [Layer.L1]: -1 } })).toThrow('bounds.l1 must be a non-negative number of ms, got -1');
    const checker = new ConsistencyChecker({ bounds: {} });
    expect(() => checker.recordRead({ resource: 'p', version: 1.5, layer: Layer.L1, startedAt: 0 })).toThrow("a read's version must be a non-negative integer, got 1.5");
  });

  it('maps the API x-cache header to layers', () => {
    expect(['l1', 'redis', 'write-through', 'stale', 'origin', 'not-cached', 'edge?'].map(layerOfXCache)).toEqual([
      Layer.L1,
      Layer.REDIS,
      Layer.REDIS,
      Layer.STALE,
      Layer.ORIGIN,
      Layer.ORIGIN,
      undefined,
    ]);
  });
});
