/**
 * Where accepted profile changes go: an SQS FIFO queue in AWS (this file), or the in-process
 * queue of `npm run dev` (`local-queue.ts`), which runs the same flusher core.
 */
import { BatchSendOptions, FifoEntry, sendFifoBatch, SqsSender } from 'cache-pyramid/runtime';
import { ProfileChange, profileMessageGroupId, serializeProfileChange } from './profile-change';

/** Durably accepts profile changes, or throws (QueueSendError) so the caller can refuse the request. */
export interface ProfileChangeQueue {
  enqueue(changes: readonly ProfileChange[]): Promise<void>;
}

/** The SQS message for `change`: group = the user (ordering), deduplication id = the change id. */
export function toFifoEntry(change: ProfileChange, id: string): FifoEntry {
  return {
    Id: id,
    MessageBody: serializeProfileChange(change),
    MessageGroupId: profileMessageGroupId(change.userId),
    // A retry of an ambiguous failure (the first send did land) is dropped by SQS within its
    // five-minute deduplication window; past it, the version guard of the flusher applies it once.
    MessageDeduplicationId: change.changeId,
  };
}

export class SqsProfileChangeQueue implements ProfileChangeQueue {
  constructor(
    private readonly sqs: SqsSender,
    private readonly queueUrl: string,
    private readonly options: BatchSendOptions = {},
  ) {
    if (!queueUrl.endsWith('.fifo')) throw new Error(`the write-behind queue must be an SQS FIFO queue (URL ending .fifo), got ${queueUrl}`);
  }

  async enqueue(changes: readonly ProfileChange[]): Promise<void> {
    await sendFifoBatch(
      this.sqs,
      this.queueUrl,
      changes.map((change, i) => toFifoEntry(change, `c${i}`)),
      this.options,
    );
  }
}
