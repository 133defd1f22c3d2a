/**
 * `PATCH /api/users/{id}/profile` — write-behind. In the user's turn (ProfileSequencer):
 *   1. take the change's version;
 *   2. read the current profile through the cache (404 if the user does not exist);
 *   3. enqueue the change (SQS FIFO; a refused send is a 503 and nothing else happened);
 *   4. store the merged profile in the cache under the change's version;
 * then answer 202. Enqueue comes before the cache store so that the cache never shows a change
 * that is not durably on its way to PostgreSQL. A read after the 202 finds the merged profile in
 * Redis (reads of one's own profile skip the in-process L1, so this holds on any instance).
 *
 * Degraded paths, none of which loses an accepted change:
 * - Redis down at step 1: no turn, no version. The change is written to PostgreSQL directly (its
 *   version chosen by PostgreSQL by the same hybrid-clock rule) and answered 200: reads fall back to
 *   PostgreSQL while Redis is down, so they see it. The cached profile Redis may still hold from
 *   before is named in a CacheInvalidation event, which the purge pipeline retries until Redis
 *   answers; otherwise it lives at most its TTL.
 * - Redis fails at step 4 (the change is queued but not cached): the same change, same version, is
 *   also applied to PostgreSQL now — the flusher will find it applied and skip it — so reads see it;
 *   then (not before: a read in between would cache the previous profile again) the cached profile
 *   is named in a CacheInvalidation event (the put may have reached a master that failed over before
 *   replicating it, or not at all), which the purge pipeline retries; the event carries the change's
 *   version (`upToVersion`), so a purge that runs only after a later change was cached leaves that one.
 * Once the flusher writes a change it refreshes the cached profile from the row (refused if a newer
 * change is cached), so the cache converges on PostgreSQL even after a lost race.
 */
import { randomUUID } from 'node:crypto';
import { CacheUnavailableError, NotFoundError, type CacheKeys, type InvalidationPublisher, type ReadThroughCache } from 'cache-pyramid/runtime';
import type { Queryable, UserSummary } from '../repositories';
import { user } from '../resources';
import type { ProfileChange, ProfileFields } from './profile-change';
import type { ProfileSequencer } from './profile-sequencer';
import { applyProfileChanges, writeProfileChangeNow } from './profile-store';
import type { ProfileChangeQueue } from './queue';

export enum ProfileChangeStatus {
  /** Queued for the flusher and visible in the cache (202). */
  QUEUED = 'queued',
  /** Written to PostgreSQL in the request, because Redis was unavailable (200). */
  APPLIED = 'applied',
}

export interface AcceptedProfileChange {
  readonly status: ProfileChangeStatus;
  /** The profile as it now reads. */
  readonly profile: UserSummary;
  readonly version: number;
  /** The queued change's id (the SQS deduplication id); absent when written directly. */
  readonly changeId?: string;
}

export interface ProfileWriteDependencies {
  readonly sequencer: Pick<ProfileSequencer, 'begin'>;
  readonly queue: ProfileChangeQueue;
  readonly cache: Pick<ReadThroughCache, 'get' | 'put'>;
  readonly keys: CacheKeys;
  readonly users: { findSummary(id: number): Promise<UserSummary | null> };
  readonly db: Queryable;
  readonly publisher: Pick<InvalidationPublisher, 'publishInvalidation'>;
  /** Epoch milliseconds, for `requestedAt`. @default Date.now */
  readonly clock?: () => number;
  readonly log?: { warn(message: string, attributes: Record<string, unknown>): void };
}

export async function acceptProfileChange(deps: ProfileWriteDependencies, userId: number, fields: ProfileFields): Promise<AcceptedProfileChange> {
  let turn;
  try {
    turn = await deps.sequencer.begin(userId);
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    deps.log?.warn('Redis unavailable for a profile change; writing it to PostgreSQL directly', { userId, error: error.message });
    return writeDirectly(deps, userId, fields);
  }
  try {
    // The key and TTL of the declared `user` resource, which `GET /api/users/{id}` reads.
    const key = user.key(deps.keys, { id: userId });
    const current = await deps.cache.get<UserSummary>(key, user.ttl, async () => {
      const found = await deps.users.findSummary(userId);
      return found && { value: found, version: found.version };
    });
    if (current.value === null) throw new NotFoundError(`user ${userId} does not exist`);
    const change: ProfileChange = {
      userId,
      changeId: randomUUID(),
      version: turn.version,
      fields,
      requestedAt: new Date((deps.clock ?? Date.now)()).toISOString(),
    };
    await deps.queue.enqueue([change]);
    const profile: UserSummary = { ...current.value, ...fields, version: turn.version };
    let cached = false;
    let cacheWriteFailed = false;
    try {
      cached = await deps.cache.put(key, user.ttl, profile, { version: turn.version });
    } catch (error) {
      cacheWriteFailed = true;
      deps.log?.warn('profile change queued but not cached; applying it to PostgreSQL now so reads see it', { userId, error: String(error) });
    }
    if (!cached) {
      // Queued all the same: if PostgreSQL cannot take it now either, the flusher will.
      await applyProfileChanges(deps.db, [change]).catch((error: unknown) => deps.log?.warn('profile change queued, not cached and not yet written; the flusher will write it', { userId, error: String(error) }));
    }
    if (cacheWriteFailed) {
      // The put may have reached a master that then failed over (or Redis may still hold the previous
      // profile): the purge pipeline removes what the slot's master holds once it answers — up to
      // this change's version, since the purge may run after a later change of the user was cached
      // (still queued, so not yet in PostgreSQL). Only after PostgreSQL has this change: a read
      // between the purge and that write would load the previous profile and cache it again.
      await deps.publisher
        .publishInvalidation({ keys: [key], upToVersion: turn.version, reason: `profile of user ${userId} changed while its cache write failed` })
        .catch((publishError: unknown) => deps.log?.warn('cached profile not scheduled for purge; it lives until its TTL', { userId, error: String(publishError) }));
    }
    return { status: ProfileChangeStatus.QUEUED, profile, version: turn.version, changeId: change.changeId };
  } finally {
    await turn.end().catch((error: unknown) => deps.log?.warn('profile turn not released; it expires by itself', { userId, error: String(error) }));
  }
}

async function writeDirectly(deps: ProfileWriteDependencies, userId: number, fields: ProfileFields): Promise<AcceptedProfileChange> {
  const profile = await writeProfileChangeNow(deps.db, userId, fields);
  if (profile === null) throw new NotFoundError(`user ${userId} does not exist`);
  await deps.publisher
    .publishInvalidation({ keys: [user.key(deps.keys, { id: userId })], upToVersion: profile.version, reason: `profile of user ${userId} written while Redis was unavailable` })
    .catch((error: unknown) => deps.log?.warn('cached profile not scheduled for purge; it lives until its TTL', { userId, error: String(error) }));
  return { status: ProfileChangeStatus.APPLIED, profile, version: profile.version };
}
