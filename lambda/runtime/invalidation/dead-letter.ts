/**
 * Sending a record that can never succeed to its DLQ WITH the reason.
 *
 * Left alone, SQS moves a record to the DLQ only after `maxReceiveCount` failed receives, and the DLQ
 * copy says nothing about why. So a purger that knows a record is hopeless (malformed, oversized,
 * unknown, refused by CloudFront) or that has just failed it for the last time re-publishes it to the
 * DLQ itself: the body unchanged (so a redrive to the source queue replays it as it was), the reason
 * and details in message attributes, and then reports the record as processed. If that send fails,
 * the record is reported as failed instead, and SQS's own redrive still lands it in the DLQ: slower
 * and without the reason, but never lost.
 */
import { MessageAttributeValue, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';

/** The record to dead-letter (an `SQSRecord` fits). */
export interface DeadLetterRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes?: { readonly ApproximateReceiveCount?: string };
}

export interface DeadLetterSender {
  /** Sends `body` (default: the record's body) to the DLQ with `reason`; throws if the DLQ did not take it. */
  send(record: DeadLetterRecord, reason: string, options?: { readonly details?: unknown; readonly body?: string }): Promise<void>;
}

/** Message attributes a DLQ record carries (documented in the README for operators). */
export enum DeadLetterAttribute {
  REASON = 'DeadLetterReason',
  CONSUMER = 'DeadLetterConsumer',
  ORIGINAL_MESSAGE_ID = 'OriginalMessageId',
  RECEIVE_COUNT = 'ApproximateReceiveCount',
  DETAILS = 'DeadLetterDetails',
  BODY_TRUNCATED = 'DeadLetterBodyTruncated',
}

/** SQS's largest message (1 MiB), body and attributes together. */
export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_REASON_CHARS = 1024;
const MAX_DETAILS_CHARS = 8 * 1024;
const ATTRIBUTE_ALLOWANCE_BYTES = 16 * 1024;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/** A {@link DeadLetterSender} over SQS `SendMessage` (create the client once, at module scope). */
export class SqsDeadLetterSender implements DeadLetterSender {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
    /** Which purger sent it, e.g. `cdn-purger`. */
    private readonly consumer: string,
  ) {}

  async send(record: DeadLetterRecord, reason: string, options: { readonly details?: unknown; readonly body?: string } = {}): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      [DeadLetterAttribute.REASON]: text(truncate(reason, MAX_REASON_CHARS)),
      [DeadLetterAttribute.CONSUMER]: text(this.consumer),
      [DeadLetterAttribute.ORIGINAL_MESSAGE_ID]: text(record.messageId),
    };
    const receiveCount = record.attributes?.ApproximateReceiveCount;
    if (receiveCount) attributes[DeadLetterAttribute.RECEIVE_COUNT] = { DataType: 'Number', StringValue: receiveCount };
    if (options.details !== undefined) attributes[DeadLetterAttribute.DETAILS] = text(truncate(JSON.stringify(options.details), MAX_DETAILS_CHARS));
    let body = options.body ?? record.body;
    const room = SQS_MAX_MESSAGE_BYTES - ATTRIBUTE_ALLOWANCE_BYTES;
    if (Buffer.byteLength(body, 'utf8') > room) {
      // Only a body that was refused for its size gets here; its head is enough to see what it was.
      body = Buffer.from(body, 'utf8').subarray(0, room).toString('utf8');
      attributes[DeadLetterAttribute.BODY_TRUNCATED] = text('true');
    }
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body === '' ? '(empty body)' : body, MessageAttributes: attributes }));
  }
}

/** The record's `ApproximateReceiveCount` (1 when SQS did not say). */
export function receiveCountOf(record: DeadLetterRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount ?? '1');
  return Number.isFinite(count) && count > 0 ? count : 1;
}
