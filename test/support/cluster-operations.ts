/**
 * The operations an operator runs on a Redis Cluster, on the harness's cluster (test/support/servers.ts):
 * a planned failover (`CLUSTER FAILOVER` on a replica), an unplanned one (SIGKILL of a master, its
 * replica promoted), adding a master and migrating slots to it live (`CLUSTER SETSLOT` / `MIGRATE`
 * step by step, so load runs between the steps), and removing a master after moving its slots away.
 *
 * Every operation ends by waiting for the cluster to converge — every running node says
 * `cluster_state:ok`, all agree on who serves each of the 16384 slots and on which node replicates
 * which master, no slot is mid-migration, no running node is flagged failing and every replica's link
 * to its master is up — instead of sleeping a fixed time, so that the next step starts from a settled
 * cluster even on a loaded machine.
 *
 * Admin commands go through one ioredis connection per node (asynchronous), so that a test process
 * driving a migration of thousands of slots keeps its event loop free.
 */
import Redis from 'ioredis';
import { RedisCluster, RedisClusterNode } from './servers';

export const SLOT_COUNT = 16384;

/** One line of `CLUSTER NODES`, as one node sees another (or itself). */
export interface NodeView {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The master's id for a replica; undefined for a master. */
  readonly masterId?: string;
  /** Slot ranges served, inclusive. */
  readonly slots: readonly (readonly [number, number])[];
  /** The `[slot->-id]` / `[slot-<-id]` migration markers of the line (only a node's own line has them). */
  readonly migrations: readonly string[];
}

export function parseClusterNodes(text: string): NodeView[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [id, address, flags, master, , , , , ...slotFields] = line.split(' ');
      const port = Number(/:(\d+)@/.exec(address)?.[1] ?? NaN);
      const slots: [number, number][] = [];
      const migrations: string[] = [];
      for (const field of slotFields) {
        if (field.startsWith('[')) {
          migrations.push(field);
          continue;
        }
        const [from, to] = field.split('-').map(Number);
        slots.push([from, to ?? from]);
      }
      return { id, port, flags: flags.split(','), masterId: master === '-' ? undefined : master, slots, migrations };
    });
}

export interface ConvergeOptions {
  /** @default 60000 — generous: gossip and elections are slow on a loaded 2-core machine. */
  readonly timeoutMs?: number;
}

export interface MigrateOptions {
  /** Slots moved per step (SETSLOT for the batch, MIGRATE of its keys, then SETSLOT NODE). @default 32 */
  readonly batchSize?: number;
  /** Keys per MIGRATE command. @default 100 */
  readonly keysPerMigrate?: number;
  /** Called after every step with the number of slots moved so far (to interleave checks or pauses). */
  readonly onStep?: (moved: number) => Promise<void> | void;
}

/** What a migration did, for the tests and the benchmark. */
export interface MigrationReport {
  readonly slots: number;
  readonly keysMoved: number;
}

export class ClusterOperator {
  private readonly admins = new Map<number, Redis>();

  constructor(readonly cluster: RedisCluster) {}

  /** Nodes whose process runs. */
  running(): RedisClusterNode[] {
    return this.cluster.nodes.filter((n) => n.pid !== undefined);
  }

  /** An admin connection to `node` (one per node, reused). */
  admin(node: RedisClusterNode): Redis {
    let redis = this.admins.get(node.port);
    if (!redis || redis.status === 'end') {
      redis = new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 2, connectTimeout: 5_000, commandTimeout: 30_000, lazyConnect: false });
      redis.on('error', () => undefined);
      this.admins.set(node.port, redis);
    }
    return redis;
  }

  async call(node: RedisClusterNode, ...args: (string | number)[]): Promise<unknown> {
    return this.admin(node).call(String(args[0]), ...args.slice(1).map(String));
  }

  async nodeId(node: RedisClusterNode): Promise<string> {
    return String(await this.call(node, 'CLUSTER', 'MYID'));
  }

  /** `node`'s view of the cluster. */
  async view(node: RedisClusterNode): Promise<NodeView[]> {
    return parseClusterNodes(String(await this.call(node, 'CLUSTER', 'NODES')));
  }

  /** The running masters that serve at least one slot, as the cluster agrees (call after convergence). */
  async masters(): Promise<RedisClusterNode[]> {
    const views = await this.view(this.running()[0]);
    const serving = new Set(views.filter((v) => v.masterId === undefined && v.slots.length > 0 && !v.flags.includes('fail')).map((v) => v.port));
    return this.running().filter((n) => serving.has(n.port));
  }

  /** The replica of `master` (the first one, if several). */
  async replicaOf(master: RedisClusterNode): Promise<RedisClusterNode> {
    const id = await this.nodeId(master);
    const views = await this.view(master);
    const replica = views.find((v) => v.masterId === id && !v.flags.includes('fail'));
    const node = replica && this.running().find((n) => n.port === replica.port);
    if (!node) throw new Error(`master on ${master.port} has no running replica`);
    return node;
  }

  /** The slots `master` serves. */
  async slotsOf(master: RedisClusterNode): Promise<number[]> {
    const views = await this.view(master);
    const self = views.find((v) => v.flags.includes('myself'))!;
    return self.slots.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
  }

  /** Waits until the cluster has converged (see the module comment); throws naming what did not. */
  async waitUntilConverged(options: ConvergeOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let problem = 'not checked yet';
    while (Date.now() < deadline) {
      problem = await this.convergenceProblem().catch((error: Error) => `a node did not answer: ${error.message}`);
      if (problem === '') return;
      await sleep(100);
    }
    throw new Error(`cluster did not converge within ${timeoutMs} ms: ${problem}`);
  }

  /** '' when converged, else the first problem found. */
  async convergenceProblem(): Promise<string> {
    const nodes = this.running();
    const runningPorts = new Set(nodes.map((n) => n.port));
    let reference: string | undefined;
    for (const node of nodes) {
      const info = String(await this.call(node, 'CLUSTER', 'INFO'));
      if (!info.includes('cluster_state:ok')) return `node ${node.port} reports ${/cluster_state:\w+/.exec(info)?.[0]}`;
      const views = await this.view(node);
      const owners = new Array<number | undefined>(SLOT_COUNT);
      for (const v of views) {
        if (v.flags.includes('myself') && v.migrations.length > 0) {
          return `node ${node.port} (${v.masterId === undefined ? 'master' : 'replica'}) has a slot mid-migration: ${v.migrations.join(' ')}`;
        }
        if (runningPorts.has(v.port) && (v.flags.includes('fail') || v.flags.includes('fail?'))) return `node ${node.port} flags ${v.port} as ${v.flags.join(',')}`;
        if (v.flags.includes('handshake') || v.flags.includes('noaddr')) return `node ${node.port} still handshakes with ${v.port}`;
        if (v.masterId !== undefined) continue;
        for (const [from, to] of v.slots) for (let s = from; s <= to; s++) owners[s] = v.port;
      }
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (owners[s] === undefined) return `node ${node.port} sees slot ${s} unserved`;
        if (!runningPorts.has(owners[s]!)) return `node ${node.port} sees slot ${s} served by stopped node ${owners[s]}`;
      }
      const known = new Set(views.map((v) => v.port));
      for (const port of runningPorts) if (!known.has(port)) return `node ${node.port} does not know ${port} yet`;
      // Who replicates whom, too: a node that rejoined (or was promoted) knows its own role at once, but
      // its master learns of it by gossip; until then `replicaOf` on that master finds no replica.
      const roles = views
        .filter((v) => runningPorts.has(v.port))
        .sort((a, b) => a.port - b.port)
        .map((v) => `${v.port}>${v.masterId ?? '-'}`)
        .join(' ');
      const signature = `${owners.join(',')}|${roles}`;
      if (reference === undefined) reference = signature;
      else if (signature !== reference) return `node ${node.port} disagrees on slot owners or on who replicates whom`;
      const replication = String(await this.call(node, 'INFO', 'replication'));
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return `replica ${node.port} is not linked to its master`;
    }
    return '';
  }

  /**
   * Planned failover: `CLUSTER FAILOVER` on `master`'s replica, which waits for it to catch up with
   * the master's replication offset before it takes over. Returns the new master.
   */
  async plannedFailover(master: RedisClusterNode): Promise<RedisClusterNode> {
    const replica = await this.replicaOf(master);
    await this.call(replica, 'CLUSTER', 'FAILOVER');
    await this.waitFor(`replica ${replica.port} to become master`, async () => String(await this.call(replica, 'ROLE')).startsWith('master'));
    await this.waitUntilConverged();
    return replica;
  }

  /**
   * Unplanned failover: SIGKILL of `master`; its replica is promoted once the other masters agree it
   * failed (cluster-node-timeout, 1 s in the harness). Returns the promoted replica. The dead node
   * stays down until {@link rejoin}. `afterKill` runs once the master is dead (e.g. to resume a
   * replica paused so that it missed the master's last writes). Pass `replica` when the caller paused
   * it: a replica stopped for longer than the node timeout is flagged `fail`, and looking it up again
   * would find none.
   */
  async killMaster(master: RedisClusterNode, options: { afterKill?: () => void; replica?: RedisClusterNode } = {}): Promise<RedisClusterNode> {
    const replica = options.replica ?? (await this.replicaOf(master));
    this.dropAdmin(master);
    await master.kill();
    options.afterKill?.();
    await this.waitFor(`replica ${replica.port} to be promoted`, async () => String(await this.call(replica, 'ROLE')).startsWith('master'));
    await this.waitUntilConverged();
    return replica;
  }

  /** Restarts a killed node with its nodes.conf: it rejoins as a replica of whoever took its slots. */
  async rejoin(node: RedisClusterNode): Promise<void> {
    await node.restart();
    await this.waitUntilConverged();
  }

  /** Starts a new empty master and introduces it to the cluster (CLUSTER MEET). */
  async addMaster(): Promise<RedisClusterNode> {
    const node = await RedisClusterNode.create();
    this.cluster.nodes.push(node);
    const introducer = (await this.masters())[0];
    // The harness gives each node its own bus port, so MEET must name it (the default is port + 10000).
    await this.call(introducer, 'CLUSTER', 'MEET', node.host, node.port, node.busPort);
    await this.waitFor(`node ${node.port} to join`, async () => {
      for (const other of this.running()) {
        if (!(await this.view(other)).some((v) => v.port === node.port && !v.flags.includes('handshake'))) return false;
      }
      return true;
    });
    // MIGRATE to a node that does not see every slot served yet fails with CLUSTERDOWN.
    await this.waitUntilConverged();
    return node;
  }

  /**
   * Moves `slots` from `source` to `target` live, in steps of `batchSize` slots: IMPORTING on the
   * target, MIGRATING on the source, MIGRATE of every key (clients get ASK for keys already moved),
   * then SETSLOT NODE on the target, the source and every other master (the order the Redis Cluster
   * specification gives, so that no node points clients back to the source).
   */
  async migrateSlots(source: RedisClusterNode, target: RedisClusterNode, slots: readonly number[], options: MigrateOptions = {}): Promise<MigrationReport> {
    const batchSize = options.batchSize ?? 32;
    const keysPerMigrate = options.keysPerMigrate ?? 100;
    const [sourceId, targetId] = await Promise.all([this.nodeId(source), this.nodeId(target)]);
    let keysMoved = 0;
    for (let i = 0; i < slots.length; i += batchSize) {
      const batch = slots.slice(i, i + batchSize);
      const importing = this.admin(target).pipeline();
      for (const slot of batch) importing.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
      await execOrThrow(importing);
      const migrating = this.admin(source).pipeline();
      for (const slot of batch) migrating.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
      await execOrThrow(migrating);
      for (const slot of batch) {
        for (;;) {
          const keys = (await this.call(source, 'CLUSTER', 'GETKEYSINSLOT', slot, keysPerMigrate)) as string[];
          if (keys.length === 0) break;
          await this.call(source, 'MIGRATE', target.host, target.port, '', 0, 10_000, 'KEYS', ...keys);
          keysMoved += keys.length;
        }
      }
      const others = (await this.masters()).filter((n) => n.port !== source.port && n.port !== target.port);
      await this.assignSlots(target, batch, targetId);
      // A master that gave away its last slot becomes a replica (cluster-allow-replica-migration):
      // it then refuses SETSLOT, and learns the new owner by gossip like the other nodes.
      for (const node of [source, ...others]) await this.assignSlots(node, batch, targetId).catch(ignoreNotMaster);
      await options.onStep?.(Math.min(i + batchSize, slots.length));
    }
    return { slots: slots.length, keysMoved };
  }

  private async assignSlots(node: RedisClusterNode, slots: readonly number[], ownerId: string): Promise<void> {
    const assign = this.admin(node).pipeline();
    for (const slot of slots) assign.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', ownerId);
    await execOrThrow(assign);
  }

  /**
   * Adds a master and moves `fraction` of all slots to it, taken evenly from the current masters,
   * under whatever load runs meanwhile. Returns the new master and what moved.
   */
  async addMasterAndReshard(fraction = 1 / 3, options: MigrateOptions = {}): Promise<{ node: RedisClusterNode; report: MigrationReport }> {
    const sources = await this.masters();
    const node = await this.addMaster();
    const perSource = Math.floor((SLOT_COUNT * fraction) / sources.length);
    let slots = 0;
    let keysMoved = 0;
    for (const source of sources) {
      const owned = await this.slotsOf(source);
      const report = await this.migrateSlots(source, node, owned.slice(0, perSource), options);
      slots += report.slots;
      keysMoved += report.keysMoved;
    }
    await this.waitUntilConverged();
    return { node, report: { slots, keysMoved } };
  }

  /**
   * Removes `master`: its slots move to the other masters (shared evenly), every other node forgets
   * it (`CLUSTER FORGET`, within the 60 s ban window, before it could be re-learned by gossip), and it
   * is stopped. Its replicas, if any, must be removed first.
   */
  async removeMaster(master: RedisClusterNode, options: MigrateOptions = {}): Promise<MigrationReport> {
    const id = await this.nodeId(master);
    if ((await this.view(master)).some((v) => v.masterId === id)) throw new Error(`master on ${master.port} still has replicas; remove them first`);
    const targets = (await this.masters()).filter((n) => n.port !== master.port);
    const owned = await this.slotsOf(master);
    const share = Math.ceil(owned.length / targets.length);
    let keysMoved = 0;
    for (const [i, target] of targets.entries()) {
      const report = await this.migrateSlots(master, target, owned.slice(i * share, (i + 1) * share), options);
      keysMoved += report.keysMoved;
    }
    await this.waitFor(`every node to see ${master.port} without slots`, async () => {
      for (const other of this.running()) {
        const seen = (await this.view(other)).find((v) => v.id === id);
        if (seen && seen.slots.length > 0) return false;
      }
      return true;
    });
    for (const other of this.running().filter((n) => n.port !== master.port)) await this.call(other, 'CLUSTER', 'FORGET', id);
    this.dropAdmin(master);
    await master.stop();
    this.cluster.nodes.splice(this.cluster.nodes.indexOf(master), 1);
    await this.waitUntilConverged();
    return { slots: owned.length, keysMoved };
  }

  /** Every key matching `pattern` on every running master (SCAN), for judging purges. */
  async scanMasters(pattern: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const node of await this.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = (await this.call(node, 'SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [string, string[]];
        cursor = next;
        for (const key of keys) found.set(key, `${node.host}:${node.port}`);
      } while (cursor !== '0');
    }
    return found;
  }

  /** Closes the admin connections (the cluster itself is stopped by `RedisCluster.stop`). */
  close(): void {
    for (const redis of this.admins.values()) redis.disconnect();
    this.admins.clear();
  }

  private dropAdmin(node: RedisClusterNode): void {
    this.admins.get(node.port)?.disconnect();
    this.admins.delete(node.port);
  }

  private async waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
}

function ignoreNotMaster(error: Error): void {
  if (!/only with masters/.test(error.message)) throw error;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
