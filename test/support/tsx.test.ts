/**
 * Why tests (and `npm run dev`) run scripts as `node --import tsx`, not through the `tsx` CLI: a
 * script that is busy when SIGTERM arrives (as any process on a loaded machine can be for longer than
 * the CLI's ~30 ms acknowledgement window) still shuts down cleanly with the loader, while the CLI
 * SIGKILLs it and exits 143. The script stays busy until the test releases it, seconds after the
 * signal, so the naive run fails every time rather than only under load.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NODE, tsxArgs } from './tsx';

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = `
import * as fs from 'node:fs';
process.once('SIGTERM', () => {
  fs.writeSync(1, 'closing\\n');
  process.exit(0);
});
fs.writeSync(1, 'ready\\n');
// Busy, as if descheduled, until the test creates the release file: the signal is handled only then.
const release = process.argv[2];
while (!fs.existsSync(release));
setInterval(() => undefined, 1000);
`;

let dir: string;
let script: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-tsx-'));
  script = path.join(dir, 'busy.ts');
  fs.writeFileSync(script, SCRIPT);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function terminateWhileBusy(command: string, args: (release: string) => string[]): Promise<{ code: number | null; output: string }> {
  const release = path.join(dir, `release-${Math.random().toString(36).slice(2)}`);
  const child: ChildProcess = spawn(command, args(release), { cwd: ROOT });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`script did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGTERM');
  // Seconds, not milliseconds, for the CLI's window to pass even on a loaded machine.
  await new Promise((r) => setTimeout(r, 3000));
  fs.writeFileSync(release, '');
  return { code: await exited, output };
}

test('node --import tsx: SIGTERM reaches the script, which exits 0 once it is free again', async () => {
  const { code, output } = await terminateWhileBusy(NODE, (release) => tsxArgs(script, release));
  expect(code).toBe(0);
  expect(output).toContain('closing');
});

test('naive: the tsx CLI SIGKILLs the busy script and exits 143', async () => {
  const { code, output } = await terminateWhileBusy(path.join(ROOT, 'node_modules', '.bin', 'tsx'), (release) => [script, release]);
  expect(code).toBe(143);
  expect(output).not.toContain('closing');
});
