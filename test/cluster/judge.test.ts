/**
 * The cluster judge applies the documented exception of an unplanned failover (docs/runtime.md, "What
 * survives a failover") and nothing more: a list page may show a product's replaced version for the
 * list TTL when the write's tag purge may have run on the dying master; a product read may not, and
 * neither may a list page for a write acknowledged outside the failover.
 */
import { ClusterJudge, JudgeOptions } from './support/judge';
import type { ReadRecord, WorkerReport, WriteRecord } from './support/protocol';

const T0 = 1_000_000;
const KILL = { from: T0, to: T0 + 3_000, ttlMs: 300_000 };
const OPTIONS: JudgeOptions = { requestDeadlineMs: 10_000, l1TtlSeconds: 10, writeBehindFlushMs: 5_000 };

function judge(options: JudgeOptions, writes: WriteRecord[], reads: ReadRecord[]): string[] {
  const judge = new ClusterJudge(options);
  const report: WorkerReport = { worker: 0, requests: [], reads, writes, purges: [], retries: 0, originLoads: 0 };
  judge.add([report]);
  return [judge.staleness, judge.lists, judge.ownWrites].flatMap((c) => c.violations()).map((v) => v.description);
}

function write(ackedAt: number): WriteRecord {
  return { resource: 'product:7', version: 2, client: 'w0', startedAt: ackedAt - 20, ackedAt, settledAt: ackedAt };
}

function read(startedAt: number, list: boolean): ReadRecord {
  return { resource: 'product:7', version: 1, layer: 'redis', client: list ? 'list-w1' : 'w1', startedAt, list };
}

describe('the cluster judge and the unplanned failover exception', () => {
  test('a list page showing the replaced version 8 ms after a write acknowledged during the kill is the documented exception', () => {
    expect(judge({ ...OPTIONS, listPagesMayReturn: KILL }, [write(T0 + 1_000)], [read(T0 + 1_008, true)])).toEqual([]);
  });

  test('a product read showing the replaced version is stale all the same (replicaAcks: no acknowledged tombstone is lost)', () => {
    expect(judge({ ...OPTIONS, listPagesMayReturn: KILL }, [write(T0 + 1_000)], [read(T0 + 1_008, false)])).toHaveLength(1);
  });

  test('a list page is held to the layers’ bounds for a write acknowledged after the failover', () => {
    expect(judge({ ...OPTIONS, listPagesMayReturn: KILL }, [write(T0 + 10_000)], [read(T0 + 10_008, true)])).toHaveLength(1);
  });

  test('without an unplanned failover a list page is held to the layers’ bounds', () => {
    expect(judge(OPTIONS, [write(T0 + 1_000)], [read(T0 + 1_008, true)])).toHaveLength(1);
  });
});
