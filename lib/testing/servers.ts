/**
 * Real servers for tests and benchmarks (`cache-pyramid/testing`, for your own tests too): a standalone redis-server, a Redis Cluster of three masters
 * (optionally with replicas) and a PostgreSQL made with initdb, each on free ports of 127.0.0.1 and in
 * its own temp dir. They never touch the machine's shared 6379/5432 instances.
 *
 * Every process is recorded in a registry dir so that the Jest global teardown (and a process 'exit'
 * hook) kills it even when a test fails or a worker dies.
 *
 * Ports: a port found free and then handed to a server is free only until something else takes it.
 * Two things did, on a loaded machine: an outgoing connection's source port (the kernel hands those out
 * from the same ephemeral range as `listen(0)`), and another worker's pick. So {@link freePort} picks
 * below the ephemeral range and claims the port in the registry (a file per port, made atomically)
 * until the server stops or its process exits; and a server that exits while starting, or whose port
 * answers for another process, is started again on new ports.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const REGISTRY_DIR = path.join(os.tmpdir(), 'cache-pyramid-test-servers');
const PORT_CLAIMS_DIR = path.join(REGISTRY_DIR, 'ports');
const live = new Set<ChildProcess>();
const claimedPorts = new Set<number>();

process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const port of claimedPorts) releasePort(port);
});

function register(child: ChildProcess): void {
  live.add(child);
  fs.mkdirSync(REGISTRY_DIR, { recursive: true });
  // The owner's pid lets a concurrent test run (another worktree user) leave this server alone. Written
  // to a temp name and renamed (atomic): a concurrent killRegisteredServers that read a half-written
  // file would find no owner and kill a live run's server.
  const file = path.join(REGISTRY_DIR, `${child.pid}.pid`);
  const temp = path.join(REGISTRY_DIR, `.${child.pid}.${process.pid}.tmp`);
  fs.writeFileSync(temp, `${child.pid} ${process.pid}`);
  fs.renameSync(temp, file);
  child.once('exit', () => {
    live.delete(child);
    fs.rmSync(path.join(REGISTRY_DIR, `${child.pid}.pid`), { force: true });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills every server left behind by this process or by a test process that no longer exists (used
 * by the Jest global setup/teardown). Servers owned by another live test run are left alone.
 */
export function killRegisteredServers(): void {
  if (!fs.existsSync(REGISTRY_DIR)) return;
  for (const file of fs.readdirSync(REGISTRY_DIR)) {
    // Only complete records: a temp file being written belongs to a registration in progress.
    if (!/^\d+\.pid$/.test(file)) continue;
    const pid = Number(file.replace(/\.pid$/, ''));
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(REGISTRY_DIR, file), 'utf8').split(' ')[1]);
    } catch {
      // removed meanwhile
    }
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) continue;
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(path.join(REGISTRY_DIR, file), { force: true });
  }
  releaseAbandonedPorts();
}

/** The pid in a port claim, or undefined if there is none (released meanwhile). */
function claimOwner(port: number): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(PORT_CLAIMS_DIR, String(port)), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Removes the port claims of processes that no longer exist, and temp files of claims they left half
 * made. A live process's claims stay, this one's included: a test file that calls this in a worker
 * must not free the ports of servers that other test files of the same worker still run.
 */
function releaseAbandonedPorts(): void {
  if (!fs.existsSync(PORT_CLAIMS_DIR)) return;
  for (const file of fs.readdirSync(PORT_CLAIMS_DIR)) {
    const temp = /^\.\d+\.(\d+)\.tmp$/.exec(file);
    if (temp !== null) {
      if (!isAlive(Number(temp[1]))) fs.rmSync(path.join(PORT_CLAIMS_DIR, file), { force: true });
      continue;
    }
    if (!/^\d+$/.test(file)) continue;
    const owner = claimOwner(Number(file));
    if (owner === undefined || isAlive(owner)) continue;
    // Read again right before removing: a claim made since (by a live process) stays.
    if (claimOwner(Number(file)) === owner) fs.rmSync(path.join(PORT_CLAIMS_DIR, file), { force: true });
  }
}

/** The range the kernel takes outgoing connections' source ports from (and `listen(0)`'s ports). */
function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux
  }
  return [32_768, 60_999];
}

/** Where {@link freePort} picks: below the ephemeral range and above 10000 (registered services), else above it. */
function portRange(): [number, number] {
  const [low, high] = ephemeralPortRange();
  if (low - 10_000 >= 2_000) return [10_000, low - 1];
  if (65_535 - high >= 2_000) return [high + 1, 65_535];
  return [1_024, 65_535]; // no room outside it: a collision is then caught when the server starts
}

/**
 * Claims `port` for this process: a file in the registry, written under a temp name and linked into
 * place (a link fails if the name exists, atomically; a reader never sees a half-written owner).
 */
function claimPort(port: number): boolean {
  fs.mkdirSync(PORT_CLAIMS_DIR, { recursive: true });
  const temp = path.join(PORT_CLAIMS_DIR, `.${port}.${process.pid}.tmp`);
  fs.writeFileSync(temp, String(process.pid));
  try {
    fs.linkSync(temp, path.join(PORT_CLAIMS_DIR, String(port)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
  claimedPorts.add(port);
  return true;
}

/**
 * Gives back a port this process claimed ({@link freePort}). Only a claim that still names this
 * process is removed: one removed meanwhile (its owner had exited) may have been made again by another.
 */
export function releasePort(port: number): void {
  if (!claimedPorts.delete(port)) return;
  if (claimOwner(port) === process.pid) fs.rmSync(path.join(PORT_CLAIMS_DIR, String(port)), { force: true });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port of 127.0.0.1 that nothing listens on, outside the kernel's ephemeral range and claimed
 * for this process until {@link releasePort} (the servers here release theirs on `stop()`) or exit.
 */
export async function freePort(): Promise<number> {
  const [from, to] = portRange();
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (!claimPort(port)) continue;
    if (await canBind(port)) return port;
    releasePort(port);
  }
  throw new Error(`no free port found in ${from}-${to}`);
}

/** A server that could not have its ports: it found one in use, or another process answers there. */
export class PortTakenError extends Error {}

/** What a server that exited while starting wrote (its last lines), as the reason of its failure. */
function startFailure(what: string, code: number | null, output: string): Error {
  const tail = output.trim().split('\n').slice(-3).join(' | ') || '(no output)';
  const message = `${what} exited with ${code} while starting: ${tail}`;
  return /Address already in use|EADDRINUSE/.test(output) ? new PortTakenError(message) : new Error(message);
}

/** A file's text, or '' if there is none (a server that exited before writing it). */
function readIfAny(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** How many times a server is started on new ports before its start fails. */
const START_ATTEMPTS = 5;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(200);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Sends `signal` to each of `pids`, skipping those that exited since they were listed (a backend
 * whose connection closed meanwhile: `kill` would throw ESRCH).
 */
function signalEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cache-pyramid-${prefix}-`));
}

/** A server process the tests may kill, pause (SIGSTOP), resume and restart. */
abstract class ManagedProcess {
  protected child?: ChildProcess;

  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** SIGSTOP: the port stays open but nothing answers, as a hung or overloaded server. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.signal('SIGCONT');
  }

  /** SIGKILL: the server disappears at once, as in a crash or a node replacement. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /**
   * Kills the server and starts it again on the same port: a standalone Redis comes back empty, a
   * cluster node keeps its nodes.conf and rejoins (as a replica if it was failed over), PostgreSQL
   * keeps its data.
   */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  private portHolder?: net.Server;

  /**
   * Stops the server and keeps its port with a listener that resets every connection at once, as
   * a database that is not accepting connections yet (Aurora resuming from 0 ACU, a restart). The
   * port stays ours, so no other suite's server can take it meanwhile. {@link startOnHeldPort} ends it.
   */
  async stopAndHoldPort(): Promise<void> {
    await this.kill();
    const holder = net.createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject);
      holder.listen(this.port, this.host, () => resolve());
    });
    this.portHolder = holder;
  }

  /** Releases the port held by {@link stopAndHoldPort} and starts the server on it again (same data). */
  async startOnHeldPort(): Promise<void> {
    const holder = this.portHolder;
    if (holder === undefined) throw new Error('startOnHeldPort: the port is not held (call stopAndHoldPort first)');
    this.portHolder = undefined;
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    await this.launch();
  }

  protected signal(signal: NodeJS.Signals): void {
    if (!this.child?.pid) throw new Error('server is not running');
    process.kill(this.child.pid, signal);
  }

  /** Stops the server for good: kills it, releases a held port and its port claims, and removes its data directory. */
  async stop(): Promise<void> {
    await this.kill();
    await new Promise<void>((resolve) => (this.portHolder === undefined ? resolve() : this.portHolder.close(() => resolve())));
    this.portHolder = undefined;
    for (const port of this.ports()) releasePort(port);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Makes a server with `make` (new ports each time) and starts it; if it could not have its ports
   * ({@link PortTakenError}), removes it and makes another, up to {@link START_ATTEMPTS} times. A failed
   * attempt gives back only the port claims made for it (a `pickPort` may hand out a port claimed before).
   */
  protected static async startOnFreshPorts<T extends ManagedProcess>(make: () => Promise<T>, attempts = START_ATTEMPTS): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const claimedBefore = new Set(claimedPorts);
      const server = await make();
      try {
        await server.launch();
        return server;
      } catch (error) {
        await server.kill().catch(() => undefined);
        for (const port of server.ports()) if (!claimedBefore.has(port)) releasePort(port);
        fs.rmSync(server.dir, { recursive: true, force: true });
        if (!(error instanceof PortTakenError) || attempt >= attempts) throw error;
      }
    }
  }

  /** The ports the server listens on (released by {@link stop}). */
  protected ports(): number[] {
    return [this.port];
  }

  abstract readonly port: number;
  abstract readonly host: string;
  /** The server's data directory, removed by {@link stop}. */
  abstract readonly dir: string;
  /** Starts the server process on {@link port} and resolves once it accepts connections. */
  protected abstract launch(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. */
  readonly args?: string[];
  /** Where the server's ports come from, called again for each start on new ports. @default freePort */
  readonly pickPort?: () => Promise<number>;
}

/** A standalone `redis-server` on a free port. */
export class RedisServer extends ManagedProcess {
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const pickPort = options.pickPort ?? freePort;
    return this.startOnFreshPorts(async () => {
      const port = await pickPort();
      return new RedisServer(port, makeTempDir('redis'), options.args ?? []);
    });
  }

  protected constructor(
    readonly port: number,
    readonly dir: string,
    protected readonly extraArgs: string[],
  ) {
    super();
  }

  readonly host = '127.0.0.1';

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** Runs a redis-cli command against this server and returns its trimmed output. */
  cli(...args: string[]): string {
    return execFileSync('redis-cli', ['-h', this.host, '-p', String(this.port), ...args], { encoding: 'utf8' }).trim();
  }

  protected baseArgs(): string[] {
    return [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', this.dir,
      '--daemonize', 'no',
      '--loglevel', 'warning',
      '--logfile', path.join(this.dir, 'redis.log'),
      ...this.extraArgs,
    ];
  }

  /**
   * Starts redis-server and waits until the port answers for it: `INFO server` must give its own
   * process id. A PING alone is answered by whichever server has the port, and a redis-server that
   * finds its port (or cluster bus port) taken exits, perhaps only after another one answered there.
   */
  protected async launch(): Promise<void> {
    // What it writes before its log file opens (an argument it refuses) goes to stderr.
    const stderr = path.join(this.dir, 'stderr.log');
    const out = fs.openSync(stderr, 'a');
    const child = spawn('redis-server', this.baseArgs(), { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    register(child);
    this.child = child;
    await waitFor(`redis-server on ${this.port}`, async () => {
      if (child.exitCode !== null) {
        throw startFailure(`redis-server on ${this.port}`, child.exitCode, readIfAny(stderr) + readIfAny(path.join(this.dir, 'redis.log')));
      }
      if (!(await canConnect(this.port))) return false;
      let info: string;
      try {
        info = execFileSync('redis-cli', ['-h', this.host, '-p', String(this.port), 'INFO', 'server'], { encoding: 'utf8', timeout: 5_000 });
      } catch {
        return false;
      }
      const pid = /^process_id:(\d+)/m.exec(info)?.[1];
      if (pid === undefined) return false;
      if (Number(pid) !== child.pid) throw new PortTakenError(`port ${this.port} answers for another redis-server (pid ${pid}), not for ${child.pid}`);
      return true;
    });
  }
}

/** One node of a {@link RedisCluster}. */
export class RedisClusterNode extends RedisServer {
  /** A node on a free port and a free cluster bus port, not yet part of a cluster. */
  static async create(options: RedisServerOptions = {}): Promise<RedisClusterNode> {
    const pickPort = options.pickPort ?? freePort;
    return this.startOnFreshPorts(async () => {
      const [port, busPort] = [await pickPort(), await pickPort()];
      return new RedisClusterNode(port, makeTempDir('redis-cluster'), options.args ?? [], busPort);
    });
  }

  private constructor(port: number, dir: string, extraArgs: string[], readonly busPort: number) {
    super(port, dir, extraArgs);
  }

  protected override ports(): number[] {
    return [this.port, this.busPort];
  }

  protected override baseArgs(): string[] {
    return [
      ...super.baseArgs(),
      '--cluster-enabled', 'yes',
      '--cluster-port', String(this.busPort),
      '--cluster-config-file', path.join(this.dir, 'nodes.conf'),
      '--cluster-node-timeout', '1000',
      '--cluster-require-full-coverage', 'no',
    ];
  }
}

export interface RedisClusterOptions extends RedisServerOptions {
  /** Number of masters. @default 3 */
  readonly masters?: number;
  /** Replicas per master (needed for failover tests). @default 0 */
  readonly replicasPerMaster?: number;
}

/** A Redis Cluster (`--cluster-enabled yes`, `redis-cli --cluster create`) on free ports. */
export class RedisCluster {
  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 0;
    const nodes: RedisClusterNode[] = [];
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(await RedisClusterNode.create(options));
    }
    execFileSync(
      'redis-cli',
      [
        '--cluster', 'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas', String(replicas),
        '--cluster-yes',
      ],
      { stdio: 'ignore' },
    );
    const cluster = new RedisCluster(nodes);
    await cluster.waitUntilHealthy();
    return cluster;
  }

  private constructor(readonly nodes: RedisClusterNode[]) {}

  /** Startup nodes for ioredis `Cluster`. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  /** The nodes that currently serve slots as masters. */
  masters(): RedisClusterNode[] {
    return this.nodes.filter((n) => n.pid !== undefined && n.cli('ROLE').startsWith('master'));
  }

  /** The node currently serving `key`'s slot as master. */
  masterFor(key: string): RedisClusterNode {
    const slot = Number(this.nodes.find((n) => n.pid !== undefined)!.cli('CLUSTER', 'KEYSLOT', key));
    for (const node of this.masters()) {
      const mine = node.cli('CLUSTER', 'MYID');
      const shards = node.cli('CLUSTER', 'NODES').split('\n');
      const self = shards.find((line) => line.startsWith(mine))!;
      const ranges = self.split(' ').slice(8);
      for (const range of ranges) {
        const [from, to] = range.split('-').map(Number);
        if (slot >= from && slot <= (to ?? from)) return node;
      }
    }
    throw new Error(`no master serves slot ${slot} of ${key}`);
  }

  /** Waits until every running node reports `cluster_state:ok`. */
  async waitUntilHealthy(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      'cluster_state:ok on every node',
      () =>
        this.nodes
          .filter((n) => n.pid !== undefined)
          .every((n) => {
            try {
              return n.cli('CLUSTER', 'INFO').includes('cluster_state:ok');
            } catch {
              return false;
            }
          }),
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql; set PG_BIN_DIR');
  return path.join(root, versions[0], 'bin');
}

/** initdb refuses to run as root; as root we run the server as the `postgres` system user. */
function postgresIdentity(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

const TEMPLATE_ENV = 'CACHE_PYRAMID_PG_TEMPLATE';

/**
 * Runs initdb once into a template dir (the Jest global setup calls this) so that every suite's
 * PostgreSQL starts from a copy in a fraction of the time.
 */
export function preparePostgresTemplate(): string {
  const existing = process.env[TEMPLATE_ENV];
  if (existing && fs.existsSync(path.join(existing, 'PG_VERSION'))) return existing;
  const dir = makeTempDir('pg-template');
  const identity = postgresIdentity();
  if (identity.uid !== undefined) fs.chownSync(dir, identity.uid, identity.gid!);
  execFileSync(
    path.join(postgresBinDir(), 'initdb'),
    ['-D', dir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '--locale=C'],
    { stdio: 'ignore', ...identity },
  );
  process.env[TEMPLATE_ENV] = dir;
  return dir;
}

/** A PostgreSQL server made with initdb in a temp dir, on a free port, trust auth, user `postgres`. */
export class PostgresServer extends ManagedProcess {
  static async start(options: { readonly pickPort?: () => Promise<number> } = {}): Promise<PostgresServer> {
    const template = preparePostgresTemplate();
    const identity = postgresIdentity();
    const pickPort = options.pickPort ?? freePort;
    return this.startOnFreshPorts(async () => {
      const port = await pickPort();
      const dir = makeTempDir('pg');
      execFileSync('cp', ['-a', `${template}/.`, dir]);
      fs.chmodSync(dir, 0o700);
      if (identity.uid !== undefined) execFileSync('chown', ['-R', `${identity.uid}:${identity.gid}`, dir]);
      return new PostgresServer(port, dir);
    });
  }

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {
    super();
  }

  readonly host = '127.0.0.1';
  readonly user = 'postgres';
  readonly database = 'postgres';

  get url(): string {
    return `postgres://${this.user}@${this.host}:${this.port}/${this.database}`;
  }

  /** Pauses the postmaster and every backend, so that open connections hang too. */
  override pause(): void {
    signalEach(this.processTree(), 'SIGSTOP');
  }

  override resume(): void {
    signalEach(this.processTree(), 'SIGCONT');
  }

  /** Crashes the server (SIGKILL to the postmaster and its backends). */
  override async kill(): Promise<void> {
    const children = this.child?.pid ? this.processTree().slice(1) : [];
    await super.kill();
    signalEach(children, 'SIGKILL');
    fs.rmSync(path.join(this.dir, 'postmaster.pid'), { force: true });
  }

  private processTree(): number[] {
    const root = this.child?.pid;
    if (!root) throw new Error('server is not running');
    const pids = [root];
    for (let i = 0; i < pids.length; i++) {
      try {
        const out = execFileSync('pgrep', ['-P', String(pids[i])], { encoding: 'utf8' }).trim();
        if (out) pids.push(...out.split('\n').map(Number));
      } catch {
        // pgrep exits 1 when there are no children
      }
    }
    return pids;
  }

  protected async launch(): Promise<void> {
    // Its log (no logging collector) goes to a file beside its data, the reason of a failed start included.
    const stderr = path.join(this.dir, 'stderr.log');
    const out = fs.openSync(stderr, 'a');
    const child = spawn(
      path.join(postgresBinDir(), 'postgres'),
      [
        '-D', this.dir,
        '-p', String(this.port),
        '-k', this.dir,
        '-c', 'listen_addresses=127.0.0.1',
        // fsync off is safe here: a killed process loses nothing the kernel already has. Commits
        // stay synchronous so that a SIGKILL in a fault test cannot lose committed rows.
        '-c', 'fsync=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=200',
        '-c', 'shared_buffers=64MB',
      ],
      { stdio: ['ignore', out, out], ...postgresIdentity() },
    );
    fs.closeSync(out);
    register(child);
    this.child = child;
    // Ready when its own Unix socket (in its data dir) accepts: postgres makes it only once its TCP port
    // is bound, and exits if it cannot bind one; TCP alone may be answered by another server.
    await waitFor(`postgres on ${this.port}`, async () => {
      if (child.exitCode !== null) throw startFailure(`postgres on ${this.port}`, child.exitCode, readIfAny(stderr));
      if (!(await canConnect(this.port))) return false;
      try {
        execFileSync(path.join(postgresBinDir(), 'pg_isready'), ['-h', this.dir, '-p', String(this.port)], { stdio: 'ignore', timeout: 5_000 });
        return true;
      } catch {
        return false;
      }
    });
  }
}
