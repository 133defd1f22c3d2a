/**
 * The whole-pyramid consistency checker: it records every write a client saw acknowledged (2xx) and
 * every answer a client got, with the version that answer carried and the layer that served it, then
 * states what went wrong.
 *
 * Two rules (DESIGN.md, "Invalidation order and staleness bounds"):
 * 1. **Bounded staleness per layer.** Once a write of version `v` of a resource was acknowledged at
 *    `ackedAt`, a read that STARTS later than `ackedAt + bounds[layer]` must not be served a version
 *    older than `v` by that layer. The bound is the layer's documented one (docs/invalidation.md).
 * 2. **Read your writes.** A read by the client that made the write, started after its 2xx, must
 *    carry `v` or newer — from every layer except those listed in `readYourWritesExempt` (by default
 *    the edge: a shared CDN object cannot know who wrote, so the edge is held to rule 1 only).
 *
 * Versions are the origin's (a product's `version`, an order's existence…): a number that grows with
 * each committed write of one resource. An answer that says "does not exist" carries version 0.
 * Times are milliseconds on whatever clock the harness uses (virtual time is fine), the same for
 * writes and reads.
 *
 * Usage (also what `cluster-ops`' failover harness uses):
 * ```ts
 * const checker = new ConsistencyChecker({ bounds: { [Layer.ORIGIN]: 0, [Layer.REDIS]: 0, [Layer.L1]: 11_000, [Layer.EDGE]: 40_000 } });
 * checker.recordWrite({ resource: 'product:1', version: 2, client: 'a', ackedAt: t1 });
 * checker.recordRead({ resource: 'product:1', version: 1, layer: Layer.L1, client: 'b', startedAt: t2, answeredAt: t3 });
 * checker.assertConsistent();          // throws, listing each violation, when a rule is broken
 * checker.measuredStalenessMs();       // per layer, the longest time an older version was served after a newer one's 2xx
 * ```
 */

/** Where an answer came from. `stale` is a value past its soft expiry (stale-while-revalidate or stale-if-error). */
export enum Layer {
  EDGE = 'edge',
  L1 = 'l1',
  REDIS = 'redis',
  STALE = 'stale',
  ORIGIN = 'origin',
}

/** The `x-cache` header values of the API (`l1`, `redis`, `origin`, `stale`) as layers; anything else is undefined. */
export function layerOfXCache(value: string | undefined): Layer | undefined {
  switch (value) {
    case 'l1':
      return Layer.L1;
    case 'redis':
    case 'write-through':
      return Layer.REDIS;
    case 'stale':
      return Layer.STALE;
    case 'origin':
    case 'not-cached':
      return Layer.ORIGIN;
    default:
      return undefined;
  }
}

/** A write the client saw acknowledged. */
export interface RecordedWrite {
  /** Any stable name of the resource (`product:1`, `/api/products?category=a&page=2`). */
  readonly resource: string;
  /** The version the write committed. */
  readonly version: number;
  /** Who wrote (for read-your-writes). @default - anonymous: rule 2 does not apply */
  readonly client?: string;
  /** When the 2xx reached the client. */
  readonly ackedAt: number;
  /**
   * This write's bounds, overriding the checker's per layer: for a write whose own purge failed, the
   * documented bounds count from when the pipeline cleaned Redis, which the harness knows. @default - the checker's
   */
  readonly bounds?: Readonly<Partial<Record<Layer, number>>>;
  /** Whether rule 2 applies to this write (false: held to the bounds only). @default true */
  readonly readYourWrites?: boolean;
}

/** An answer a client got. */
export interface RecordedRead {
  readonly resource: string;
  /** The version the answer carried; 0 for "does not exist". */
  readonly version: number;
  readonly layer: Layer;
  /** @default - anonymous: rule 2 does not apply */
  readonly client?: string;
  /** When the request was sent. */
  readonly startedAt: number;
  /** When the answer arrived. @default startedAt */
  readonly answeredAt?: number;
}

export interface ConsistencyCheckerOptions {
  /** Staleness bound per layer in ms after a write's 2xx; a layer left out is allowed no staleness (0). */
  readonly bounds: Readonly<Partial<Record<Layer, number>>>;
  /** Layers a writer's own reads may lag in (within their bound). @default [Layer.EDGE] */
  readonly readYourWritesExempt?: readonly Layer[];
}

export type ViolationRule = 'staleness-bound' | 'read-your-writes';

export interface Violation {
  readonly rule: ViolationRule;
  readonly read: RecordedRead;
  /** The newest acknowledged write the read should have seen. */
  readonly write: RecordedWrite;
  /** How long after the write's 2xx the read started (ms). */
  readonly lateByMs: number;
  /** One line for the failure message. */
  readonly description: string;
}

export class ConsistencyChecker {
  private readonly writes = new Map<string, RecordedWrite[]>();
  private readonly reads: RecordedRead[] = [];
  private readonly bounds: Readonly<Partial<Record<Layer, number>>>;
  private readonly exempt: ReadonlySet<Layer>;

  constructor(options: ConsistencyCheckerOptions) {
    for (const [layer, bound] of Object.entries(options.bounds)) {
      if (!(typeof bound === 'number' && bound >= 0)) throw new RangeError(`bounds.${layer} must be a non-negative number of ms, got ${bound}`);
    }
    this.bounds = options.bounds;
    this.exempt = new Set(options.readYourWritesExempt ?? [Layer.EDGE]);
  }

  recordWrite(write: RecordedWrite): void {
    checkVersion('write', write.version);
    const list = this.writes.get(write.resource) ?? [];
    list.push(write);
    this.writes.set(write.resource, list);
  }

  recordRead(read: RecordedRead): void {
    checkVersion('read', read.version);
    this.reads.push(read);
  }

  /** Reads recorded so far. */
  get readCount(): number {
    return this.reads.length;
  }

  /** Writes recorded so far. */
  get writeCount(): number {
    let n = 0;
    for (const list of this.writes.values()) n += list.length;
    return n;
  }

  /** The bound of `layer` in ms for `write` (its own bound if it has one, else the checker's; 0 when neither is given). */
  boundOf(layer: Layer, write?: RecordedWrite): number {
    return write?.bounds?.[layer] ?? this.bounds[layer] ?? 0;
  }

  /** Every broken rule, in the order the reads were recorded; at most one per read (the newest write it missed). */
  violations(): Violation[] {
    const found: Violation[] = [];
    for (const read of this.reads) {
      const missed = (this.writes.get(read.resource) ?? []).filter((w) => w.version > read.version);
      let worst: Violation | undefined;
      for (const write of missed) {
        const lateByMs = read.startedAt - write.ackedAt;
        if (lateByMs < 0) continue;
        let rule: ViolationRule | undefined;
        if (write.client !== undefined && write.client === read.client && write.readYourWrites !== false && !this.exempt.has(read.layer)) rule = 'read-your-writes';
        else if (lateByMs > this.boundOf(read.layer, write)) rule = 'staleness-bound';
        if (!rule || (worst && worst.write.version >= write.version)) continue;
        worst = {
          rule,
          read,
          write,
          lateByMs,
          description:
            `${read.resource}: ${read.client ?? 'a client'} read version ${read.version} from ${read.layer} ${lateByMs} ms after ` +
            `${write.client ?? 'a client'}'s write of version ${write.version} was acknowledged ` +
            (rule === 'read-your-writes' ? '(the writer must read its own write)' : `(bound of ${read.layer}: ${this.boundOf(read.layer, write)} ms)`),
        };
      }
      if (worst) found.push(worst);
    }
    return found;
  }

  /** Throws an Error listing the first violations (up to `limit`) when any rule is broken. */
  assertConsistent(limit = 10): void {
    const found = this.violations();
    if (found.length === 0) return;
    const lines = found.slice(0, limit).map((v) => `  - [${v.rule}] ${v.description}`);
    const more = found.length > limit ? `\n  … and ${found.length - limit} more` : '';
    throw new Error(`${found.length} consistency violation(s) over ${this.reads.length} reads and ${this.writeCount} writes:\n${lines.join('\n')}${more}`);
  }

  /**
   * Per layer, the longest time (ms) after a newer version's 2xx at which a read STARTED and was still
   * served an older version: the staleness the history actually showed (0 when never stale).
   */
  measuredStalenessMs(): Record<Layer, number> {
    const worst: Record<Layer, number> = { [Layer.EDGE]: 0, [Layer.L1]: 0, [Layer.REDIS]: 0, [Layer.STALE]: 0, [Layer.ORIGIN]: 0 };
    for (const read of this.reads) {
      for (const write of this.writes.get(read.resource) ?? []) {
        if (write.version <= read.version) continue;
        const late = read.startedAt - write.ackedAt;
        if (late > worst[read.layer]) worst[read.layer] = late;
      }
    }
    return worst;
  }

  /** Forgets everything recorded (one checker per history is simpler; this is for long-running harnesses). */
  reset(): void {
    this.writes.clear();
    this.reads.length = 0;
  }
}

function checkVersion(what: string, version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`a ${what}'s version must be a non-negative integer, got ${version}`);
}
