/**
 * The write-behind queue of `npm run dev`: in process, bounded, flushed periodically by the same
 * core as the Lambda flusher, with the semantics of the SQS FIFO queue it stands in for — records
 * returned by the core go back to the head of the queue in order with their receive count raised,
 * a record past the last allowed receive is dead-lettered with the reason, and a full queue refuses
 * new changes (QueueSendError → 503) instead of growing without bound.
 *
 * It is not durable: a crash of the dev server loses what was not flushed yet. That is the price of
 * running without AWS; the SQS queue is what production uses.
 */
import type { Queryable } from '../repositories';
import { DeadLetterSink, FlushRecord, InMemoryDeadLetterSink, QueueSendError } from 'cache-pyramid/runtime';
import { FlushDependencies, FlushLog, FlushReport, flushProfileChanges } from './flusher';
import { ProfileChange, profileMessageGroupId, serializeProfileChange } from './profile-change';
import type { ProfileChangeQueue } from './queue';

export interface LocalWriteBehindQueueOptions {
  readonly db: Queryable;
  /** @default - an InMemoryDeadLetterSink, exposed as `deadLetters` */
  readonly deadLetters?: DeadLetterSink;
  /** Changes held at most; beyond it `enqueue` throws. @default 10000 */
  readonly capacity?: number;
  /** Records per flush (the Lambda gets at most 10 from SQS FIFO; the core takes any number). @default 100 */
  readonly batchSize?: number;
  /** Period of the background flush started by `start()`. @default 500 */
  readonly flushIntervalMs?: number;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  readonly log?: FlushLog;
  /** As for the Lambda flusher: refreshes the cached profiles after a write. @default - nothing */
  readonly onUpdated?: FlushDependencies['onUpdated'];
}

interface LocalMessage {
  id: string;
  body: string;
  messageGroupId: string;
  changeId: string;
  receiveCount: number;
}

export class LocalWriteBehindQueue implements ProfileChangeQueue {
  readonly deadLetters: DeadLetterSink;
  private readonly capacity: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly pending: LocalMessage[] = [];
  private nextId = 1;
  private timer?: NodeJS.Timeout;
  /** Flushes run one after another, as SQS FIFO never hands out a group twice at once. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LocalWriteBehindQueueOptions) {
    this.deadLetters = options.deadLetters ?? new InMemoryDeadLetterSink();
    this.capacity = options.capacity ?? 10_000;
    this.batchSize = options.batchSize ?? 100;
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    for (const [name, value] of Object.entries({ capacity: this.capacity, batchSize: this.batchSize, flushIntervalMs: this.flushIntervalMs })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`LocalWriteBehindQueue ${name} must be a positive integer, got ${value}`);
    }
  }

  /** Changes waiting to be flushed. */
  get depth(): number {
    return this.pending.length;
  }

  async enqueue(changes: readonly ProfileChange[]): Promise<void> {
    const fresh = changes.filter((change) => !this.pending.some((m) => m.changeId === change.changeId));
    if (this.pending.length + fresh.length > this.capacity) {
      throw new QueueSendError(`local write-behind queue is full (${this.pending.length} of ${this.capacity})`, changes.map((c) => c.changeId));
    }
    for (const change of fresh) {
      this.pending.push({
        id: `local-${this.nextId++}`,
        body: serializeProfileChange(change),
        messageGroupId: profileMessageGroupId(change.userId),
        changeId: change.changeId,
        receiveCount: 0,
      });
    }
  }

  /** Flushes one batch now (after any flush in progress); undefined when nothing was waiting. */
  flushNow(): Promise<FlushReport | undefined> {
    const run = this.running.then(() => this.flushOnce());
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Starts the periodic flush; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flushNow().catch((error: unknown) => this.options.log?.error('local write-behind flush failed', { error: String(error) }));
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the periodic flush and drains what can be written; what cannot stays queued. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const report = await this.flushNow();
      if (!report || report.batchItemFailures.length > 0) return;
    }
  }

  private async flushOnce(): Promise<FlushReport | undefined> {
    if (this.pending.length === 0) return undefined;
    const batch = this.pending.splice(0, this.batchSize);
    for (const message of batch) message.receiveCount++;
    const records: FlushRecord[] = batch.map((m) => ({ id: m.id, body: m.body, messageGroupId: m.messageGroupId, receiveCount: m.receiveCount }));
    let report: FlushReport;
    try {
      report = await flushProfileChanges(records, {
        db: this.options.db,
        deadLetters: this.deadLetters,
        maxReceiveCount: this.options.maxReceiveCount,
        log: this.options.log,
        onUpdated: this.options.onUpdated,
      });
    } catch (error) {
      this.pending.unshift(...batch);
      throw error;
    }
    const returned = new Set(report.batchItemFailures.map((f) => f.itemIdentifier));
    this.pending.unshift(...batch.filter((m) => returned.has(m.id)));
    return report;
  }
}
