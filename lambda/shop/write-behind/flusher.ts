/**
 * The write-behind flusher core: one batch of queued profile changes in, one upsert out, and the
 * list of records that must return to the queue.
 *
 * Why a batch-level write and not Powertools' per-record handler: a record handler writes one row
 * per call, 100 round trips for a batch of 100; the point of write-behind is to turn N changes into
 * one statement (`profile-store.ts`). The core therefore computes `batchItemFailures` itself, with
 * the rules of Powertools' `SqsFifoPartialProcessorAsync` with `skipGroupOnError` — once a record of
 * a message group fails, every later record of that group fails too, so that SQS redelivers them in
 * order — and a test holds the two to the same answers.
 *
 * What happens to each record:
 * - malformed (not JSON, unknown fields, bad values, wrong message group): dead-lettered at once
 *   with the reason, reported processed; its group continues;
 * - PostgreSQL unavailable (or any error that is not about one record): every record to be written
 *   is reported failed and returns to the queue; nothing is lost, the next receive retries. A record
 *   at its last allowed receive is dead-lettered with the error instead of silently redriven;
 * - PostgreSQL refuses the data of some record (SQLSTATE class 22/23, e.g. a constraint added
 *   later): the batch is split in halves until that record is alone, it is dead-lettered with
 *   PostgreSQL's message, the others land;
 * - a dead-letter send that fails: the record is reported failed (it returns, SQS's redrive is the
 *   net) and, as above, holds back the rest of its group.
 */
import type { SQSRecord } from 'aws-lambda';
import type { Queryable, UserSummary } from '../repositories';
import { DeadLetter, DeadLetterKind, DeadLetterSink, FlushRecord, isOriginUnavailable, ValidationError } from 'cache-pyramid/runtime';
import { ProfileChange, parseProfileChange, profileMessageGroupId } from './profile-change';
import { ProfileChangeOutcome, applyProfileChanges } from './profile-store';

/** Structured logging the core needs (a Powertools Logger fits). */
export interface FlushLog {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface FlushDependencies {
  readonly db: Queryable;
  readonly deadLetters: DeadLetterSink;
  /** Receives after which a record failing for a transient reason is dead-lettered. Match the queue's redrive policy. @default 5 */
  readonly maxReceiveCount?: number;
  readonly log?: FlushLog;
  /**
   * Told the profiles a write changed, as they now are in PostgreSQL (the Lambda refreshes the
   * cached profiles with them). A failure here is logged and changes nothing about the batch: the
   * rows are committed. @default - nothing
   */
  readonly onUpdated?: (profiles: readonly UserSummary[]) => Promise<void>;
}

export interface FlushReport {
  /** The records that must return to the queue (Lambda's partial batch response). */
  readonly batchItemFailures: { itemIdentifier: string }[];
  /** Records written (merged per user into one row update). */
  readonly applied: number;
  /** Records PostgreSQL already had a newer (or the same) version for: duplicates, late older changes. */
  readonly superseded: number;
  /** Records repeated within this batch (same user and version). */
  readonly duplicates: number;
  /** Records of users that no longer exist. */
  readonly unknownUsers: number;
  readonly deadLettered: { readonly poison: number; readonly exhausted: number };
  /** True when the write failed for a reason unrelated to any one record (PostgreSQL down). */
  readonly originFailed: boolean;
}

/** The core's view of an SQS FIFO record (`ApproximateReceiveCount` read defensively: 1 if absent). */
export function toFlushRecord(record: SQSRecord): FlushRecord {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  return {
    id: record.messageId,
    body: record.body,
    messageGroupId: record.attributes.MessageGroupId,
    receiveCount: Number.isInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1,
  };
}

const silent: FlushLog = { warn: () => undefined, error: () => undefined };

interface Candidate {
  readonly record: FlushRecord;
  readonly change: ProfileChange;
}

/** SQLSTATE classes that blame the data of a row, not the server: 22 data exception, 23 integrity constraint. */
function isRecordError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^2[23]/.test(code) && !isOriginUnavailable(error);
}

function describe(error: unknown): string {
  const e = error as { message?: string; code?: string };
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? error);
}

export async function flushProfileChanges(records: readonly FlushRecord[], deps: FlushDependencies): Promise<FlushReport> {
  const log = deps.log ?? silent;
  const maxReceiveCount = deps.maxReceiveCount ?? 5;
  const failed = new Set<string>();
  const position = new Map(records.map((record, i) => [record, i]));
  /** The batch position of the first failed record of each group. */
  const groupFailedAt = new Map<string, number>();
  const deadLettered = { poison: 0, exhausted: 0 };
  const counts = { applied: 0, superseded: 0, duplicates: 0, unknownUsers: 0 };
  let originFailed = false;

  const fail = (record: FlushRecord): void => {
    failed.add(record.id);
    const group = record.messageGroupId;
    const at = position.get(record)!;
    if (group !== undefined && !(groupFailedAt.get(group)! <= at)) groupFailedAt.set(group, at);
  };
  /** True when an earlier record of the same group failed: writing this one now would reorder the group. */
  const blocked = (record: FlushRecord): boolean => {
    const group = record.messageGroupId;
    return group !== undefined && groupFailedAt.has(group) && groupFailedAt.get(group)! < position.get(record)!;
  };

  const deadLetter = async (letters: DeadLetter[]): Promise<void> => {
    if (letters.length === 0) return;
    for (const letter of letters) {
      log.warn('dead-lettering a profile change', { messageId: letter.record.id, messageGroupId: letter.record.messageGroupId, kind: letter.kind, reason: letter.reason, receiveCount: letter.record.receiveCount });
    }
    const unsent = await deps.deadLetters.send(letters).catch((error: unknown) => {
      log.error('dead-letter queue unavailable', { error: describe(error) });
      return new Set(letters.map((l) => l.record.id));
    });
    for (const letter of letters) {
      if (unsent.has(letter.record.id)) fail(letter.record);
      else deadLettered[letter.kind]++;
    }
  };

  // 1. Validate every record; malformed ones go to the dead-letter queue before anything is written.
  const parsed: (Candidate | DeadLetter)[] = records.map((record) => {
    try {
      const change = parseProfileChange(record.body);
      const group = profileMessageGroupId(change.userId);
      if (record.messageGroupId !== undefined && record.messageGroupId !== group) {
        throw new ValidationError('messageGroupId', `message group ${record.messageGroupId} does not match user ${change.userId} (expected ${group}); its order with the user's other changes is unknown`);
      }
      return { record, change };
    } catch (error) {
      const reason = error instanceof ValidationError ? `${error.field}: ${error.message}` : describe(error);
      return { record, kind: DeadLetterKind.POISON, reason };
    }
  });
  await deadLetter(parsed.filter((p): p is DeadLetter => 'kind' in p));

  // 2. Drop repeats within the batch; the statement would apply them once anyway, this keeps the counts honest.
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  for (const p of parsed) {
    if ('kind' in p) continue;
    const identity = `${p.change.userId}:${p.change.version}`;
    if (seen.has(identity)) counts.duplicates++;
    else {
      seen.add(identity);
      candidates.push(p);
    }
  }

  // 3. Write, isolating records PostgreSQL refuses on their own; contiguous halves keep each group's order.
  const write = async (segment: Candidate[]): Promise<void> => {
    const runnable = segment.filter((c) => {
      if (!blocked(c.record)) return true;
      fail(c.record);
      return false;
    });
    if (runnable.length === 0) return;
    try {
      const { outcomes, updated } = await applyProfileChanges(deps.db, runnable.map((c) => c.change));
      if (deps.onUpdated && updated.length > 0) {
        await deps.onUpdated(updated).catch((error: unknown) => log.warn('profiles written but their cache entries not refreshed', { error: describe(error), users: updated.length }));
      }
      for (const outcome of outcomes) {
        if (outcome === ProfileChangeOutcome.APPLIED) counts.applied++;
        else if (outcome === ProfileChangeOutcome.SUPERSEDED) counts.superseded++;
        else counts.unknownUsers++;
      }
      outcomes.forEach((outcome, i) => {
        if (outcome === ProfileChangeOutcome.UNKNOWN_USER) {
          log.warn('profile change for a user that no longer exists', { messageId: runnable[i].record.id, userId: runnable[i].change.userId });
        }
      });
    } catch (error) {
      if (isRecordError(error)) {
        if (runnable.length === 1) {
          await deadLetter([{ record: runnable[0].record, kind: DeadLetterKind.POISON, reason: `PostgreSQL refused the change: ${describe(error)}` }]);
          return;
        }
        const half = Math.ceil(runnable.length / 2);
        await write(runnable.slice(0, half));
        await write(runnable.slice(half));
        return;
      }
      originFailed = true;
      log.error('profile change batch not written; records return to the queue', { error: describe(error), records: runnable.length, originUnavailable: isOriginUnavailable(error) });
      const exhausted = runnable.filter((c) => c.record.receiveCount >= maxReceiveCount);
      for (const c of runnable) if (c.record.receiveCount < maxReceiveCount) fail(c.record);
      await deadLetter(exhausted.map((c) => ({ record: c.record, kind: DeadLetterKind.EXHAUSTED, reason: `not written after ${c.record.receiveCount} receives: ${describe(error)}` })));
    }
  };
  await write(candidates);

  // 4. The FIFO rule over the whole batch: a record after a failed one of its group fails too. Only
  //    an in-batch repeat of a failed record can be caught here; every other case was held back above.
  const groupsFailedSoFar = new Set<string>();
  for (const record of records) {
    const group = record.messageGroupId;
    if (group === undefined) continue;
    if (groupsFailedSoFar.has(group)) failed.add(record.id);
    else if (failed.has(record.id)) groupsFailedSoFar.add(group);
  }

  return {
    batchItemFailures: records.filter((r) => failed.has(r.id)).map((r) => ({ itemIdentifier: r.id })),
    ...counts,
    deadLettered,
    originFailed,
  };
}
