/**
 * Starts several API processes under mixed load (./load-worker.ts, each with its own L1 and its own
 * ioredis Cluster client) and collects what each saw when told to stop.
 */
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { LoadConfig, WorkerMessage, WorkerReport } from './protocol';

const ROOT = path.join(__dirname, '..', '..', '..');

export type LoadOptions = Omit<LoadConfig, 'worker' | 'workers'> & { readonly workers: number };

export class Load {
  private readonly children: ChildProcess[] = [];
  private readonly reports: Promise<WorkerReport>[] = [];
  private readonly ready: Promise<void>[] = [];
  /** When the load started (every process ready). */
  startedAt = 0;

  static async start(options: LoadOptions): Promise<Load> {
    const load = new Load();
    for (let worker = 0; worker < options.workers; worker++) load.spawn({ ...options, worker, workers: options.workers });
    await Promise.all(load.ready);
    load.startedAt = Date.now();
    return load;
  }

  private spawn(config: LoadConfig): void {
    const child = fork(path.join(__dirname, 'load-worker.ts'), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.children.push(child);
    let markReady!: () => void;
    let failReady!: (error: Error) => void;
    this.ready.push(new Promise<void>((resolve, reject) => ((markReady = resolve), (failReady = reject))));
    this.reports.push(
      new Promise<WorkerReport>((resolve, reject) => {
        child.on('message', (message: WorkerMessage) => {
          if (message.type === 'ready') markReady();
          else if (message.type === 'report') resolve(message.report);
          else if (message.type === 'crashed') {
            const error = new Error(`load process ${config.worker} crashed: ${message.error}`);
            failReady(error);
            reject(error);
          }
        });
        child.once('exit', (code) => {
          const error = new Error(`load process ${config.worker} exited with ${code} before reporting`);
          failReady(error);
          reject(error);
        });
      }),
    );
    child.send({ type: 'start', config } satisfies WorkerMessage);
  }

  /** Stops every process's loops and returns what each recorded. */
  async stop(): Promise<WorkerReport[]> {
    for (const child of this.children) if (child.connected) child.send({ type: 'stop' } satisfies WorkerMessage);
    return Promise.all(this.reports);
  }

  /** Kills every process (cleanup after a failed test). */
  kill(): void {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
