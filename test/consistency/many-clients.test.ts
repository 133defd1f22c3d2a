/**
 * Many clients at once (issue 20, part 3): three API instances with their own L1, clients writing
 * one hot product and reading its category's list page concurrently (about half each), over real
 * Redis (both topologies, calls with a 0–6 ms jitter as a network gives them) and real PostgreSQL,
 * with the L1 bus off (the Lambda default) and on. Every read that starts after a write's 2xx is
 * judged (test/consistency/fleet.ts): Redis never older than the write, the writing instance reads
 * its write from every layer, another instance's L1 within its bound.
 *
 * With the tag index as it was (its two UNLINKs of a key and its lock, its SREM of what it read), a
 * page falls out of its tag set and later writes no longer find it: the checker catches it.
 */
import { Pool } from 'pg';
import type { CacheClient } from '../../lambda/runtime/cache';
import { connectClient } from '../lambda/runtime/cache/support';
import { seededDatabase } from '../lambda/runtime/db/support';
import { PostgresServer } from '../support/servers';
import { describeEachTopology } from '../support/topologies';
import { Layer } from './checker';
import { Fleet, seeded } from './fleet';

const INSTANCES = 3;
const CLIENTS = 6;
const OPS_PER_CLIENT = 30;
const HOT_PRODUCT = 1;
/** Rounds the naive index gets to show the race (bus off: the first; bus on: 1–10 in the runs measured). */
const NAIVE_ROUNDS = 30;
const FIXED_ROUNDS = 2;
/** Each Redis call of an instance waits 0…this many ms (real time), as a network with varying latency. */
const JITTER_MS = 6;

describeEachTopology('many clients on several instances at once', (handle) => {
  let server: PostgresServer;
  let pool: Pool;
  let category: string;
  const clients: CacheClient[] = [];
  let rounds = 0;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, { products: 12, users: 2 }));
    const { rows } = await pool.query<{ slug: string }>('select c.slug from products p join categories c on c.id = p.category_id where p.id = $1', [HOT_PRODUCT]);
    category = rows[0].slug;
    for (let i = 0; i < INSTANCES; i++) clients.push(await connectClient(handle.current()));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await pool?.end();
    await server?.stop();
  });

  /** One round: a fresh namespace, every client running its operations concurrently with the others. */
  async function round(options: { bus: boolean; naive: boolean }): Promise<Fleet> {
    rounds += 1;
    const random = seeded(rounds);
    const fleet = await Fleet.start({
      pool,
      clients,
      clusterMode: handle.current().kind === 'cluster',
      namespace: `m${process.pid}-${rounds}`,
      bus: options.bus,
      naive: options.naive,
      jitterMs: JITTER_MS,
      random,
    });
    try {
      await fleet.readList(0, category);
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          const choose = seeded(rounds * 100 + client);
          for (let op = 0; op < OPS_PER_CLIENT; op++) {
            const instance = Math.floor(choose() * INSTANCES);
            if (choose() < 0.5) await fleet.write(instance, HOT_PRODUCT);
            else await fleet.readList(instance, category);
          }
        }),
      );
      // Every instance reads once more after the last write.
      for (let instance = 0; instance < INSTANCES; instance++) await fleet.readList(instance, category);
    } finally {
      await fleet.close();
    }
    return fleet;
  }

  test.each([false, true])('bus %s: no read after a write\'s 2xx is older than its layer allows', async (bus) => {
    let lag = 0;
    for (let i = 0; i < FIXED_ROUNDS; i++) {
      const fleet = await round({ bus, naive: false });
      fleet.checker().assertConsistent();
      expect(fleet.writeCount).toBeGreaterThan(10);
      lag = Math.max(lag, fleet.otherInstanceLagMs(Layer.L1));
    }
    process.stdout.write(`many clients (${handle.current().kind}, bus ${bus ? 'on' : 'off'}): longest other-instance L1 lag after a write's 2xx ${lag.toFixed(1)} ms\n`);
  });

  test('bus on, Redis stalled for 500 ms during a write: another instance\'s L1 lags the 2xx by at most the bus bound', async () => {
    const topology = handle.current();
    const stall = (pause: boolean): void => {
      const servers = topology.kind === 'standalone' ? [topology.server] : topology.cluster.nodes;
      for (const node of servers) {
        if (pause) node.pause();
        else node.resume();
      }
    };
    rounds += 1;
    const fleet = await Fleet.start({ pool, clients, clusterMode: topology.kind === 'cluster', namespace: `m${process.pid}-${rounds}`, bus: true, random: seeded(rounds) });
    let lag = 0;
    try {
      for (let instance = 0; instance < INSTANCES; instance++) await fleet.readList(instance, category);
      stall(true);
      const resume = new Promise<void>((resolve) => setTimeout(() => resolve(stall(false)), 500));
      let written = false;
      const writing = fleet.write(0, HOT_PRODUCT).finally(() => (written = true));
      // Another instance reads (from its L1) throughout the stall and for 50 reads after the 2xx.
      for (let after = 0; after < 50; ) {
        await fleet.readList(1, category);
        if (written) after += 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await Promise.all([writing, resume]);
      fleet.checker().assertConsistent();
      lag = fleet.otherInstanceLagMs(Layer.L1);
    } finally {
      stall(false);
      await fleet.close();
    }
    process.stdout.write(`many clients (${topology.kind}, bus on, Redis stalled 500 ms): other-instance L1 lag after the write's 2xx ${lag.toFixed(1)} ms\n`);
  });

  test.each([false, true])('naive tag index, bus %s: pages are served older than acknowledged writes', async (bus) => {
    let violations: ReturnType<ReturnType<Fleet['checker']>['violations']> = [];
    let tried = 0;
    while (violations.length === 0 && tried < NAIVE_ROUNDS) {
      tried += 1;
      violations = (await round({ bus, naive: true })).checker().violations();
    }
    const byLayer = violations.reduce<Record<string, number>>((n, v) => ({ ...n, [`${v.rule}@${v.read.layer}`]: (n[`${v.rule}@${v.read.layer}`] ?? 0) + 1 }), {});
    process.stdout.write(`many clients (${handle.current().kind}, bus ${bus ? 'on' : 'off'}), naive tag index: ${violations.length} violation(s) in round ${tried}: ${JSON.stringify(byLayer)}\n`);
    expect(violations.length).toBeGreaterThan(0);
  });
});
