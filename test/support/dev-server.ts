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

/** Starts the dev server on a free port with `env` added to this process's, resolved once it listens. */
export async function startDevServer(env: NodeJS.ProcessEnv, startTimeoutMs = 30_000): Promise<DevServer> {
  const port = await freePort();
  const child = spawn(NODE, tsxArgs('scripts/dev-server.ts'), { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) } });
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
