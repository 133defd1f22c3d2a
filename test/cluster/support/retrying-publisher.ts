/**
 * The purge queue's redelivery, in process: a purge that fails (Redis failing over, or a replica not
 * acknowledging it) is retried in the background until it succeeds, as the SQS purge queue
 * redelivers the message in AWS — instead of being dropped as the development publisher does.
 */
import type { InvalidationPublisher, InvalidationRequest } from '../../../lambda/runtime/invalidation/publisher';

/** Wraps the publisher that purges Redis; see the module comment. */
export class RetryingPublisher implements InvalidationPublisher {
  retries = 0;
  /** Purges that had to be retried: the keys, when the first attempt failed and when one succeeded. */
  readonly retried: { keys: readonly string[]; failedAt: number; doneAt: number }[] = [];
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly inner: InvalidationPublisher) {}

  async publishInvalidation(request: InvalidationRequest): Promise<void> {
    try {
      await this.inner.publishInvalidation(request);
    } catch {
      const record = { keys: request.keys ?? [], failedAt: performance.timeOrigin + performance.now(), doneAt: Number.POSITIVE_INFINITY };
      this.retried.push(record);
      const retry = this.retryUntilDone(request)
        .then(() => {
          record.doneAt = performance.timeOrigin + performance.now();
        })
        .finally(() => this.pending.delete(retry));
      this.pending.add(retry);
    }
  }

  publishDomainEvent: InvalidationPublisher['publishDomainEvent'] = (event) => this.inner.publishDomainEvent(event);

  /** Runs `request` until it succeeds (or {@link close}); resolves when it did. */
  async retryUntilDone(request: InvalidationRequest): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * attempt)));
      this.retries += 1;
      try {
        await this.inner.publishInvalidation(request);
        return;
      } catch {
        // Redis is still failing over or migrating: the queue would redeliver later.
      }
    }
  }

  /** Stops retrying (a test that failed midway): retries left running would keep Jest from exiting. */
  close(): void {
    this.closed = true;
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
