/** `npm run dev` (scripts/dev-server.ts) in its own process, for tests that talk to it over HTTP. */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from './servers';
import { NODE, tsxArgs } from './tsx';

const ROOT = path.join(__dirname, '..', '..');

export interface DevServer {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
}

export interface DevServerStartOptions {
  /** @default 30_000 */
  readonly startTimeoutMs?: number;
  /**
   * A test-only module (path from the repository root) node loads before the script, through
   * `--import`, e.g. {@link NAIVE_TAG_INDEX_PRELOAD}. @default - none
   */
  readonly preload?: string;
}

/** Makes the dev server use the tag index as it was before issue 20 (./naive-tag-index-preload.ts). */
export const NAIVE_TAG_INDEX_PRELOAD = './test/support/naive-tag-index-preload.ts';

/** Starts the dev server on a free port with `env` added to this process's, resolved once it listens. */
export async function startDevServer(env: NodeJS.ProcessEnv, options: DevServerStartOptions = {}): Promise<DevServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const port = await freePort();
  const [tsxImport, tsx, ...script] = tsxArgs('scripts/dev-server.ts');
  const args = options.preload === undefined ? [tsxImport, tsx, ...script] : [tsxImport, tsx, '--import', options.preload, ...script];
  const child = spawn(NODE, args, { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + startTimeoutMs;
  while (!output.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dev server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base: `http://127.0.0.1:${port}` };
}

/** SIGKILLs the dev server if it still runs, and waits for it to be gone. */
export async function killDevServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
