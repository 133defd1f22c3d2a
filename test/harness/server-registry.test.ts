/**
 * The server registry (lib/testing/servers.ts) is shared by every test run on the machine: each run's
 * Jest global setup/teardown (killRegisteredServers) kills the servers whose owner is gone and must
 * leave a live run's servers alone. A record is written to a temp name and renamed, so a reader never
 * sees it half-written. The naive write (writeFileSync on the record itself: open with truncation,
 * then write) shows a concurrent reader an empty record for a moment: no owner, so the live run's
 * server is killed. Stand-ins: `sleep` processes as the server and as the other run.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killRegisteredServers } from '../support/servers';

const REGISTRY_DIR = path.join(os.tmpdir(), 'cache-pyramid-test-servers');

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

describe('the server registry shared by concurrent test runs', () => {
  const children: ChildProcess[] = [];

  function sleeper(): ChildProcess {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  afterEach(() => {
    for (const child of children.splice(0)) if (alive(child)) child.kill('SIGKILL');
  });

  async function settled(child: ChildProcess): Promise<boolean> {
    // A SIGKILL is delivered at once; give the 'exit' event a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return alive(child);
  }

  test('naive: a record a reader finds half-written (empty) gets the live run’s server killed', async () => {
    const [server] = [sleeper(), sleeper()];
    fs.mkdirSync(REGISTRY_DIR, { recursive: true });
    const record = path.join(REGISTRY_DIR, `${server.pid}.pid`);
    fs.writeFileSync(record, ''); // what a reader sees between the naive write's open and its write
    try {
      killRegisteredServers();
      expect(await settled(server)).toBe(false);
    } finally {
      fs.rmSync(record, { force: true });
    }
  });

  test('a registration in progress is a temp file the reader skips (and leaves for the rename); a complete record keeps the live run’s server alive', async () => {
    const [server, owner] = [sleeper(), sleeper()];
    fs.mkdirSync(REGISTRY_DIR, { recursive: true });
    const temp = path.join(REGISTRY_DIR, `.${server.pid}.${owner.pid}.tmp`);
    const record = path.join(REGISTRY_DIR, `${server.pid}.pid`);
    fs.writeFileSync(temp, '');
    try {
      killRegisteredServers();
      expect(await settled(server)).toBe(true);
      fs.writeFileSync(temp, `${server.pid} ${owner.pid}`);
      fs.renameSync(temp, record);
      killRegisteredServers();
      expect(await settled(server)).toBe(true);
      expect(fs.existsSync(record)).toBe(true);
    } finally {
      fs.rmSync(temp, { force: true });
      fs.rmSync(record, { force: true });
    }
  });
});
