/**
 * `SendMessageBatch` to a FIFO queue, with SQS's per-entry failures handled.
 *
 * A batch call can succeed while some of its entries fail (`Failed[]`, e.g. throttling or an
 * internal error on one entry). Only those entries are sent again, after an exponential backoff
 * with full jitter; entries SQS blames on the sender (`SenderFault`) are never retried, because
 * resending the same bytes cannot succeed. What is still unsent at the end raises a
 * {@link QueueSendError} naming it, so the caller can refuse the request rather than lose it.
 *
 * Ordering: SQS FIFO keeps the order of entries within one call, but a retried entry lands after
 * the entries of the same call that succeeded. So one call never carries two entries of the same
 * message group, and calls go one after another: an entry is sent only once every earlier entry
 * of its group has been accepted. A throw of the call itself (network, credentials) is left to the
 * SDK's own retry policy and then reported as unsent entries, never swallowed.
 */
import type { SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { loadSqs } from '../aws/lazy-client';
import { QueueSendError } from '../errors';

/** SQS limits of one `SendMessageBatch` call. */
export const SQS_BATCH_MAX_ENTRIES = 10;
export const SQS_BATCH_MAX_BYTES = 256 * 1024;

/** A FIFO entry: the group and deduplication ids are required. */
export type FifoEntry = SendMessageBatchRequestEntry & { Id: string; MessageBody: string; MessageGroupId: string; MessageDeduplicationId: string };

export interface BatchSendOptions {
  /** Attempts per entry, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** First backoff ceiling; it doubles per attempt (full jitter: a random delay up to it). @default 50 */
  readonly baseDelayMs?: number;
  /** Backoff ceiling. @default 1000 */
  readonly maxDelayMs?: number;
  /** Injected for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
}

/** The few SQS client methods used (an `SQSClient` fits; tests pass one mocked by aws-sdk-client-mock). */
export type SqsSender = Pick<SQSClient, 'send'>;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function entryBytes(entry: FifoEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody);
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/**
 * Splits `entries` into calls of at most 10 entries and 256 KiB, never two entries of one group in
 * a call, keeping the relative order of each group's entries.
 */
export function planBatches(entries: readonly FifoEntry[]): FifoEntry[][] {
  const batches: FifoEntry[][] = [];
  let current: FifoEntry[] = [];
  let bytes = 0;
  let groups = new Set<string>();
  for (const entry of entries) {
    const size = entryBytes(entry);
    if (size > SQS_BATCH_MAX_BYTES) {
      throw new RangeError(`message ${entry.Id} is ${size} bytes, above the SQS limit of ${SQS_BATCH_MAX_BYTES}`);
    }
    if (current.length === SQS_BATCH_MAX_ENTRIES || bytes + size > SQS_BATCH_MAX_BYTES || groups.has(entry.MessageGroupId)) {
      batches.push(current);
      current = [];
      bytes = 0;
      groups = new Set();
    }
    current.push(entry);
    bytes += size;
    groups.add(entry.MessageGroupId);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends every entry or throws a QueueSendError naming those that were not sent. An entry that
 * could not be sent holds back the later entries of its group (they are reported unsent too); other
 * groups go on. A failed call (no per-entry answer) stops the whole send.
 */
export async function sendFifoBatch(sqs: SqsSender, queueUrl: string, entries: readonly FifoEntry[], options: BatchSendOptions = {}): Promise<void> {
  const ids = new Set<string>();
  for (const entry of entries) {
    if (ids.has(entry.Id)) throw new RangeError(`batch entry id ${entry.Id} is used twice`);
    ids.add(entry.Id);
  }
  const batches = planBatches(entries);
  const unsent: string[] = [];
  const heldGroups = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < batches.length; i++) {
    const held = batches[i].filter((entry) => heldGroups.has(entry.MessageGroupId));
    const sendable = batches[i].filter((entry) => !heldGroups.has(entry.MessageGroupId));
    unsent.push(...held.map((entry) => entry.Id));
    if (sendable.length === 0) continue;
    let failedIds: readonly string[];
    try {
      failedIds = await sendOneBatch(sqs, queueUrl, sendable, options, problems);
    } catch (error) {
      const rest = [...sendable, ...batches.slice(i + 1).flat()].map((entry) => entry.Id);
      throw new QueueSendError(`SendMessageBatch to ${queueUrl} failed: ${(error as Error).message}`, [...unsent, ...rest], { cause: error });
    }
    for (const entry of sendable) {
      if (failedIds.includes(entry.Id)) {
        unsent.push(entry.Id);
        heldGroups.add(entry.MessageGroupId);
      }
    }
  }
  if (unsent.length > 0) {
    throw new QueueSendError(`SendMessageBatch to ${queueUrl}: ${unsent.length} of ${entries.length} entries not sent: ${problems.join('; ')}`, unsent);
  }
}

/** Sends one call's entries, retrying the failed ones; returns the ids that still failed. Throws when the call itself fails. */
async function sendOneBatch(sqs: SqsSender, queueUrl: string, batch: FifoEntry[], options: BatchSendOptions, problems: string[]): Promise<readonly string[]> {
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxDelayMs = options.maxDelayMs ?? 1000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const gaveUp: string[] = [];
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(Math.round(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 2))));
    // Loaded at the first send, not with the module: a sandbox that only reads never pays for it.
    const { SendMessageBatchCommand } = loadSqs();
    const response = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
    const retry = new Set<string>();
    for (const failure of response.Failed ?? []) {
      if (!failure.SenderFault && attempt < maxAttempts) {
        retry.add(failure.Id!);
        continue;
      }
      gaveUp.push(failure.Id!);
      const why = failure.SenderFault ? 'sender fault' : `after ${attempt} attempts`;
      problems.push(`${failure.Id}: ${failure.Code}${failure.Message ? ` ${failure.Message}` : ''} (${why})`);
    }
    pending = pending.filter((entry) => retry.has(entry.Id));
  }
  return gaveUp;
}
