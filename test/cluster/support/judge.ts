/**
 * Judges what the load processes saw while the cluster changed, with the whole-pyramid consistency
 * checker (test/consistency/checker.ts) for staleness and read-your-writes, plus the verdicts the
 * checker does not give: failed requests (5xx, or past the request deadline), writes not visible
 * once the load settled, and purges that left a key behind on some master.
 */
import { decodeEnvelope } from '../../../lambda/runtime/cache';
import { productList } from '../../../lambda/shop/resources';
import type { CacheKeys } from '../../../lambda/runtime/keys';
import { ConsistencyChecker, Layer, layerOfXCache } from '../../consistency/checker';
import type { ClusterOperator } from '../../support/cluster-operations';
import type { PurgeRecord, RequestRecord, WorkerReport } from './protocol';

export interface JudgeOptions {
  /** A request slower than this counts as failed. */
  readonly requestDeadlineMs: number;
  /** The L1 TTL of the load processes: the documented cross-process staleness bound of L1. */
  readonly l1TtlSeconds: number;
  /** How long a queued profile change may take to reach PostgreSQL (the write-behind's origin bound). */
  readonly writeBehindFlushMs: number;
  /** Scheduler slack added to time-based bounds on a loaded machine. @default 1000 */
  readonly slackMs?: number;
  /**
   * Set for an unplanned failover (SIGKILL of a master), with the operation's start and end and the
   * list pages' TTL. docs/runtime.md, "What survives a failover": list pages carry no version and
   * are invalidated without `WAIT`, so a list page a write's tag purge removed on the master just
   * before it died may come back until its TTL. List-page reads are then held, for each write whose
   * tag purge may have run on the dying master (started before the operation ended, acknowledged
   * after it began less the slack: the replication lag), to the list TTL instead of the layers'
   * bounds; every other write, and every product read, keeps the layers' bounds.
   * @default - no exception: list pages are held to the layers' bounds
   */
  readonly listPagesMayReturn?: { readonly from: number; readonly to: number; readonly ttlMs: number };
}

export interface Verdict {
  readonly requests: number;
  readonly failed: RequestRecord[];
  readonly stale: string[];
  readonly purges: number;
  readonly incompletePurges: string[];
  readonly invisibleWrites: string[];
  readonly writes: number;
  readonly reads: number;
  /** List pages the purge check found on the masters. */
  readonly pagesChecked: number;
  /** See ClusterJudge.longestSettleMs. */
  readonly longestSettleMs: number;
}

export class ClusterJudge {
  /**
   * Staleness per layer, for every reader: counted from when a write settled in Redis (its 2xx, or
   * the success of the purge retried after its tombstone could not reach Redis). L1 copies in other
   * processes live at most the L1 TTL after that; Redis and the origin never serve an older version.
   */
  readonly staleness: ConsistencyChecker;
  /** The same for the product versions list pages show, with the unplanned failover's exception (JudgeOptions.listPagesMayReturn). */
  readonly lists: ConsistencyChecker;
  /** Read-your-writes, counted from the 2xx: the writer's own process sees its write from every layer. */
  readonly ownWrites: ConsistencyChecker;
  /**
   * Profiles are written behind (202, then flushed to PostgreSQL): docs/runtime.md gives Redis no
   * staleness after the 202 and PostgreSQL the flush latency, so a profile read that fell back to the
   * origin (a cache timeout during an operation) may lag by that much, even for its writer.
   */
  readonly profiles: ConsistencyChecker;
  readonly ownProfiles: ConsistencyChecker;
  readonly reports: WorkerReport[] = [];
  /** List pages found on the masters and checked against the purges (0 would make the check vacuous). */
  pagesChecked = 0;

  constructor(private readonly options: JudgeOptions) {
    const slack = options.slackMs ?? 1_000;
    const layerBounds = { [Layer.L1]: options.l1TtlSeconds * 1000 + slack, [Layer.REDIS]: 0, [Layer.ORIGIN]: 0, [Layer.STALE]: 0 };
    this.staleness = new ConsistencyChecker({ bounds: layerBounds });
    this.lists = new ConsistencyChecker({ bounds: layerBounds });
    const never = Number.MAX_SAFE_INTEGER;
    const ownOnly = { [Layer.L1]: never, [Layer.REDIS]: never, [Layer.ORIGIN]: never, [Layer.STALE]: never };
    this.ownWrites = new ConsistencyChecker({ bounds: ownOnly, readYourWritesExempt: [] });
    this.profiles = new ConsistencyChecker({ bounds: { [Layer.REDIS]: 0, [Layer.ORIGIN]: options.writeBehindFlushMs, [Layer.STALE]: 0 } });
    this.ownProfiles = new ConsistencyChecker({ bounds: ownOnly, readYourWritesExempt: [Layer.ORIGIN] });
  }

  add(reports: readonly WorkerReport[]): void {
    for (const report of reports) {
      this.reports.push(report);
      for (const write of report.writes) {
        const [staleness, own] = this.checkersOf(write.resource);
        staleness.recordWrite({ resource: write.resource, version: write.version, ackedAt: write.settledAt });
        if (staleness === this.staleness) this.lists.recordWrite({ resource: write.resource, version: write.version, ackedAt: write.settledAt, bounds: this.listBoundsOf(write) });
        own.recordWrite({ resource: write.resource, version: write.version, client: write.client, ackedAt: write.ackedAt });
      }
      for (const read of report.reads) {
        const layer = layerOfXCache(read.layer);
        if (layer === undefined) throw new Error(`answer without a known x-cache: ${JSON.stringify(read)}`);
        const [staleness, own] = this.checkersOf(read.resource);
        (read.list ? this.lists : staleness).recordRead({ resource: read.resource, version: read.version, layer, startedAt: read.startedAt });
        own.recordRead({ resource: read.resource, version: read.version, layer, client: read.client, startedAt: read.startedAt });
      }
    }
  }

  /** The list TTL for a write whose list-page purge an unplanned failover may have lost; else the layers' bounds. */
  private listBoundsOf(write: { startedAt: number; ackedAt: number }): Partial<Record<Layer, number>> | undefined {
    const window = this.options.listPagesMayReturn;
    if (!window || write.startedAt > window.to || write.ackedAt < window.from - (this.options.slackMs ?? 1_000)) return undefined;
    const bound = window.ttlMs + (this.options.slackMs ?? 1_000);
    return { [Layer.L1]: bound, [Layer.REDIS]: bound, [Layer.STALE]: bound };
  }

  private checkersOf(resource: string): [ConsistencyChecker, ConsistencyChecker] {
    return resource.startsWith('user:') ? [this.profiles, this.ownProfiles] : [this.staleness, this.ownWrites];
  }

  /** The longest time a write took to settle in Redis after its 2xx (0 when every tombstone landed at once). */
  longestSettleMs(): number {
    return Math.max(0, ...this.reports.flatMap((r) => r.writes.map((w) => w.settledAt - w.ackedAt)));
  }

  requests(): RequestRecord[] {
    return this.reports.flatMap((r) => r.requests);
  }

  purges(): PurgeRecord[] {
    return this.reports.flatMap((r) => r.purges);
  }

  /** 5xx or past the deadline. */
  failedRequests(): RequestRecord[] {
    return this.requests().filter(([, ms, status]) => status >= 500 || ms > this.options.requestDeadlineMs);
  }

  /**
   * After the load stopped and the cluster settled: SCAN every master for the list pages of each
   * purged category; a page stored (`s`, its load time) before a purge of it started and still
   * there after the purge was acknowledged survived the purge.
   */
  async incompletePurges(operator: ClusterOperator, keys: CacheKeys): Promise<string[]> {
    const survivors: string[] = [];
    const byCategory = new Map<string, PurgeRecord[]>();
    for (const purge of this.purges()) byCategory.set(purge.category, [...(byCategory.get(purge.category) ?? []), purge]);
    for (const [category, purges] of byCategory) {
      // The pattern the load's pattern purges use: every page of the category's listing.
      const found = await operator.scanMasters(`${keys.prefix}{${productList.name}:${category}:*`);
      for (const [key, master] of found) {
        if (key.endsWith(':lock')) continue;
        const raw = await operator.call(operator.running().find((n) => `${n.host}:${n.port}` === master)!, 'GET', key).catch(() => null);
        const entry = decodeEnvelope(raw as string | null);
        if (!entry) continue;
        this.pagesChecked += 1;
        const missedBy = purges.find((p) => entry.s < p.startedAt && p.ackedAt > 0);
        if (missedBy) survivors.push(`${key} on ${master}, stored at ${entry.s}, survived the ${missedBy.kind} purge started at ${missedBy.startedAt}`);
      }
    }
    return survivors;
  }

  /**
   * Every acknowledged write is visible afterwards: `read(resource)` (a fresh process's read through
   * the API) returns at least the newest acknowledged version.
   */
  async invisibleWrites(read: (resource: string) => Promise<number>): Promise<string[]> {
    const newest = new Map<string, number>();
    for (const report of this.reports) for (const w of report.writes) newest.set(w.resource, Math.max(newest.get(w.resource) ?? 0, w.version));
    const missing: string[] = [];
    for (const [resource, version] of newest) {
      const seen = await read(resource);
      if (seen < version) missing.push(`${resource}: read version ${seen} after version ${version} was acknowledged`);
    }
    return missing;
  }

  async verdict(operator: ClusterOperator, keys: CacheKeys, read: (resource: string) => Promise<number>): Promise<Verdict> {
    return {
      requests: this.requests().length,
      failed: this.failedRequests(),
      stale: [this.staleness, this.lists, this.ownWrites, this.profiles, this.ownProfiles].flatMap((c) => c.violations()).map((v) => `[${v.rule}] ${v.description}`),
      longestSettleMs: this.longestSettleMs(),
      purges: this.purges().length,
      incompletePurges: await this.incompletePurges(operator, keys),
      pagesChecked: this.pagesChecked,
      invisibleWrites: await this.invisibleWrites(read),
      writes: this.staleness.writeCount + this.profiles.writeCount,
      reads: this.staleness.readCount + this.lists.readCount + this.profiles.readCount,
    };
  }
}
