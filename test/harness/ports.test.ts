/**
 * Ports of the test servers (lib/testing/servers.ts). A port found free is free only until another
 * process takes it: under `npm run test:stress` a cluster node's redis-server exited on start ("redis-server
 * on 36313 exited with 1") because its port, found with listen(0) and closed, had been taken meanwhile.
 * freePort now picks outside the kernel's ephemeral range and claims the port for this process, and a
 * server that cannot have its ports starts again on new ones. The naive readiness check (the port
 * answers PING / pg_isready over TCP) is fooled by another server on the port.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort, PortTakenError, PostgresServer, RedisClusterNode, RedisServer, releasePort } from '../support/servers';

const PORT_CLAIMS_DIR = path.join(os.tmpdir(), 'cache-pyramid-test-servers', 'ports');

function ephemeralRange(): [number, number] {
  const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return [low, high];
}

/** What the harness did before: a port from listen(0), closed again. */
function listenZeroPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The ports in `first`, then free ones; counts the calls. */
function portsThen(...first: number[]): { pick: () => Promise<number>; calls: () => number } {
  let calls = 0;
  return {
    pick: async () => {
      calls++;
      return first.length > 0 ? first.shift()! : freePort();
    },
    calls: () => calls,
  };
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function redisPid(port: number): number {
  const info = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'INFO', 'server'], { encoding: 'utf8' });
  return Number(/^process_id:(\d+)/m.exec(info)![1]);
}

describe('ports of the test servers', () => {
  test('freePort picks outside the ephemeral range (which listen(0) uses), a different port for each caller, claimed until released', async () => {
    const [low, high] = ephemeralRange();
    const naive = await listenZeroPort();
    expect(naive >= low && naive <= high).toBe(true);

    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    try {
      expect(new Set(ports).size).toBe(ports.length);
      for (const port of ports) {
        expect(port < low || port > high).toBe(true);
        expect(fs.readFileSync(path.join(PORT_CLAIMS_DIR, String(port)), 'utf8')).toBe(String(process.pid));
      }
    } finally {
      for (const port of ports) releasePort(port);
    }
    // Released: no longer ours (another worker may have claimed one since).
    for (const port of ports) {
      const file = path.join(PORT_CLAIMS_DIR, String(port));
      expect(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : 'none').not.toBe(String(process.pid));
    }
  });

  test('naive: PING on the port answers while the redis-server started there exits, because another server has the port', async () => {
    const other = await RedisServer.start();
    const child = spawn('redis-server', ['--port', String(other.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      expect(other.cli('PING')).toBe('PONG');
      expect(await exitCode(child)).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await other.stop();
    }
  });

  test('a redis-server whose port is taken starts again on a new port, and answers for itself', async () => {
    const other = await RedisServer.start();
    const ports = portsThen(other.port);
    const server = await RedisServer.start({ pickPort: ports.pick });
    try {
      expect(ports.calls()).toBe(2);
      expect(server.port).not.toBe(other.port);
      expect(redisPid(server.port)).toBe(server.pid);
      expect(redisPid(other.port)).toBe(other.pid);
    } finally {
      await Promise.all([server.stop(), other.stop()]);
    }
  });

  test('a cluster node whose bus port is taken starts again on new ports', async () => {
    const other = await RedisServer.start();
    const first = await freePort();
    const ports = portsThen(first, other.port);
    const node = await RedisClusterNode.create({ pickPort: ports.pick });
    try {
      expect(ports.calls()).toBe(4);
      expect(node.busPort).not.toBe(other.port);
      expect(redisPid(node.port)).toBe(node.pid);
      expect(node.cli('INFO', 'cluster')).toContain('cluster_enabled:1');
    } finally {
      releasePort(first);
      await Promise.all([node.stop(), other.stop()]);
    }
  });

  test('a server that never gets its ports fails after five starts, with the reason', async () => {
    const other = await RedisServer.start();
    try {
      let calls = 0;
      const start = RedisServer.start({
        pickPort: async () => {
          calls++;
          return other.port;
        },
      });
      await expect(start).rejects.toThrow(PortTakenError);
      await expect(start).rejects.toThrow(new RegExp(`${other.port}`));
      expect(calls).toBe(5);
      expect(redisPid(other.port)).toBe(other.pid);
    } finally {
      await other.stop();
    }
  });

  test('a server that fails to start for another reason fails at once, with what it said', async () => {
    const ports = portsThen();
    const start = RedisServer.start({ args: ['--no-such-directive', 'yes'], pickPort: ports.pick });
    await expect(start).rejects.toThrow(/exited with 1 while starting: .*no-such-directive/i);
    await expect(start).rejects.not.toBeInstanceOf(PortTakenError);
    expect(ports.calls()).toBe(1);
  });

  test('a PostgreSQL whose port is taken starts again on a new port, with its own data directory', async () => {
    const other = await PostgresServer.start();
    const ports = portsThen(other.port);
    const pg = await PostgresServer.start({ pickPort: ports.pick });
    try {
      expect(ports.calls()).toBe(2);
      expect(pg.port).not.toBe(other.port);
      for (const server of [pg, other]) {
        const client = new Client({ connectionString: server.url });
        await client.connect();
        const { rows } = await client.query<{ data_directory: string }>('show data_directory');
        expect(rows[0].data_directory).toBe(server.dir);
        await client.end();
      }
    } finally {
      await Promise.all([pg.stop(), other.stop()]);
    }
  });
});
