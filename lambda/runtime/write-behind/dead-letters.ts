/**
 * Where the flusher puts a record it will never apply, with the reason attached.
 *
 * The queue's own redrive (after `maxReceiveCount` receives) moves a message with the attributes it
 * was sent with, so it cannot say why it failed. The flusher therefore dead-letters records itself:
 * a malformed record at its first receive (retrying cannot fix it, and in a FIFO queue it would hold
 * back every later change of its user for five visibility timeouts), and a record whose last
 * allowed receive failed too. The reason travels as message attributes; the body is the original,
 * byte for byte, so that a redrive (`StartMessageMoveTask`) after a fix replays it unchanged.
 * If the dead-letter send itself fails, the record is reported as failed and goes back to the
 * queue; SQS's redrive is then the safety net, and the reason is in the logs.
 */
import { QueueSendError } from '../errors';
import { BatchSendOptions, FifoEntry, SqsSender, sendFifoBatch } from './sqs-batch';

/** One record as the flusher sees it (an SQS record, or an entry of the local queue). */
export interface FlushRecord {
  /** The SQS `messageId`; the `itemIdentifier` of a batch item failure. */
  readonly id: string;
  readonly body: string;
  /** The SQS FIFO message group (one per user). */
  readonly messageGroupId?: string;
  /** `ApproximateReceiveCount`: 1 on the first delivery. */
  readonly receiveCount: number;
}

export enum DeadLetterKind {
  /** The record can never be applied: malformed, or refused by PostgreSQL on its own. */
  POISON = 'poison',
  /** A transient failure (PostgreSQL down) outlasted the record's last allowed receive. */
  EXHAUSTED = 'exhausted',
}

export interface DeadLetter {
  readonly record: FlushRecord;
  readonly kind: DeadLetterKind;
  readonly reason: string;
}

export interface DeadLetterSink {
  /** Dead-letters `letters`; returns the ids of the records that could NOT be dead-lettered. */
  send(letters: readonly DeadLetter[]): Promise<ReadonlySet<string>>;
}

/** Message attribute values are capped well below SQS limits so a huge error text cannot fail the send. */
const MAX_REASON_CHARS = 1024;

/** The dead-letter message attributes of a record. */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: 'FailureReason',
  kind: 'FailureKind',
  sourceMessageId: 'SourceMessageId',
  receiveCount: 'ReceiveCount',
} as const;

export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SqsSender,
    private readonly deadLetterQueueUrl: string,
    private readonly options: BatchSendOptions = {},
  ) {
    if (!deadLetterQueueUrl.endsWith('.fifo')) {
      throw new Error(`the dead-letter queue of a FIFO queue must be FIFO (URL ending .fifo), got ${deadLetterQueueUrl}`);
    }
  }

  async send(letters: readonly DeadLetter[]): Promise<ReadonlySet<string>> {
    if (letters.length === 0) return new Set();
    const entries: FifoEntry[] = letters.map((letter, i) => ({
      Id: `d${i}`,
      MessageBody: letter.record.body,
      MessageGroupId: letter.record.messageGroupId ?? 'ungrouped',
      // The source message id is stable across redeliveries: a retried dead-letter send is dropped.
      MessageDeduplicationId: letter.record.id,
      MessageAttributes: {
        [DEAD_LETTER_ATTRIBUTES.reason]: { DataType: 'String', StringValue: letter.reason.slice(0, MAX_REASON_CHARS) },
        [DEAD_LETTER_ATTRIBUTES.kind]: { DataType: 'String', StringValue: letter.kind },
        [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: { DataType: 'String', StringValue: letter.record.id },
        [DEAD_LETTER_ATTRIBUTES.receiveCount]: { DataType: 'Number', StringValue: String(letter.record.receiveCount) },
      },
    }));
    try {
      await sendFifoBatch(this.sqs, this.deadLetterQueueUrl, entries, this.options);
      return new Set();
    } catch (error) {
      if (!(error instanceof QueueSendError)) throw error;
      const byEntryId = new Map(entries.map((entry, i) => [entry.Id, letters[i].record.id]));
      return new Set(error.unsentIds.map((id) => byEntryId.get(id)!));
    }
  }
}

/** The dead-letter queue of `npm run dev` and of tests: kept in memory, inspectable. */
export class InMemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];

  async send(letters: readonly DeadLetter[]): Promise<ReadonlySet<string>> {
    this.letters.push(...letters);
    return new Set();
  }
}
