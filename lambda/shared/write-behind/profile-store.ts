/**
 * The write-behind writes to PostgreSQL: a whole flush batch in ONE statement (one round trip,
 * atomic), and the single-change write used when the queue path cannot run.
 *
 * Ordering rule, enforced inside the statement rather than in JavaScript: for each user, only the
 * changes whose version is above the row's `profile_version` — read under `FOR UPDATE`, so a
 * concurrent writer is waited for and then seen — are merged, in version order, and the row takes
 * the highest of their versions. Hence
 *   - a duplicate (same version, redelivered or sent twice) is applied once;
 *   - a late older change never overwrites any field of a newer one, in the same batch or in a later one;
 *   - partial changes compose: `{displayName}` v5 then `{bio}` v6 leaves both.
 * Merging in JavaScript before the statement would get the second case wrong: a batch holding v2
 * (late) and v4 over a row already at v3 must apply only v4, which only the row knows.
 */
import type { Queryable } from '../db/repositories';
import type { ProfileChange, ProfileFields } from './profile-change';

/** What happened to one change of a batch. */
export enum ProfileChangeOutcome {
  /** Written (alone, or merged with the user's other newer changes of the batch). */
  APPLIED = 'applied',
  /** The row already held this version or a newer one: a duplicate or a late older change. */
  SUPERSEDED = 'superseded',
  /** No user has this id (deleted after the change was accepted). */
  UNKNOWN_USER = 'unknown_user',
}

export interface AppliedProfileChanges {
  /** One outcome per input change, in input order. */
  readonly outcomes: ProfileChangeOutcome[];
  /** The `profile_version` each updated user now has. */
  readonly versions: ReadonlyMap<number, number>;
}

const APPLY_BATCH_SQL = `
with incoming as (
  select c.ord, c.user_id, c.version, c.fields
    from jsonb_to_recordset($1::jsonb) as c(ord int, user_id bigint, version bigint, fields jsonb)
),
locked as (
  select u.id, u.profile_version
    from users u
   where u.id in (select user_id from incoming)
   order by u.id
     for update
),
newer_fields as (
  select i.user_id, i.version, f.key, f.value
    from incoming i
    join locked l on l.id = i.user_id and i.version > l.profile_version
   cross join lateral jsonb_each(i.fields) f
),
merged as (
  select user_id, max(version) as version, jsonb_object_agg(key, value order by version) as fields
    from newer_fields
   group by user_id
),
applied as (
  update users u
     set display_name    = case when m.fields ? 'displayName' then m.fields ->> 'displayName' else u.display_name end,
         bio             = case when m.fields ? 'bio' then m.fields ->> 'bio' else u.bio end,
         avatar_url      = case when m.fields ? 'avatarUrl' then m.fields ->> 'avatarUrl' else u.avatar_url end,
         profile_version = m.version,
         updated_at      = now()
    from merged m
   where u.id = m.user_id and u.profile_version < m.version
  returning u.id, u.profile_version
)
select i.ord, (l.id is not null) as user_exists, (i.version > l.profile_version) as newer, a.profile_version as applied_version
  from incoming i
  left join locked l on l.id = i.user_id
  left join applied a on a.id = i.user_id
 order by i.ord`;

interface ApplyRow {
  ord: number;
  user_exists: boolean;
  newer: boolean | null;
  applied_version: string | null;
}

/**
 * Applies `changes` (any users, any order, duplicates allowed) in one statement and one round
 * trip. Throws what PostgreSQL throws; nothing is written then (the statement is atomic).
 */
export async function applyProfileChanges(db: Queryable, changes: readonly ProfileChange[]): Promise<AppliedProfileChanges> {
  if (changes.length === 0) return { outcomes: [], versions: new Map() };
  const payload = changes.map((c, ord) => ({ ord, user_id: c.userId, version: c.version, fields: c.fields }));
  const { rows } = await db.query<ApplyRow>(APPLY_BATCH_SQL, [JSON.stringify(payload)]);
  const outcomes: ProfileChangeOutcome[] = [];
  const versions = new Map<number, number>();
  for (const row of rows) {
    const change = changes[row.ord];
    if (!row.user_exists) {
      outcomes.push(ProfileChangeOutcome.UNKNOWN_USER);
    } else if (row.newer && row.applied_version !== null) {
      outcomes.push(ProfileChangeOutcome.APPLIED);
      versions.set(change.userId, Number(row.applied_version));
    } else {
      outcomes.push(ProfileChangeOutcome.SUPERSEDED);
    }
  }
  return { outcomes, versions };
}

/** The user's profile after a direct write. */
export interface WrittenProfile {
  readonly userId: number;
  readonly version: number;
}

/**
 * Writes one change straight to PostgreSQL, choosing its version in the same statement as
 * `greatest(profile_version + 1, now in µs)`: the hybrid-clock rule of the Redis version clock,
 * evaluated under the row lock. Used when the version clock (Redis) is unavailable, so that a PATCH
 * still lands durably and reads — which fall back to PostgreSQL while Redis is down — see it.
 * Returns null when the user does not exist.
 */
export async function writeProfileChangeNow(db: Queryable, userId: number, fields: ProfileFields): Promise<WrittenProfile | null> {
  const { rows } = await db.query<{ id: string; profile_version: string }>(
    `update users u
        set display_name    = case when $2::jsonb ? 'displayName' then $2::jsonb ->> 'displayName' else u.display_name end,
            bio             = case when $2::jsonb ? 'bio' then $2::jsonb ->> 'bio' else u.bio end,
            avatar_url      = case when $2::jsonb ? 'avatarUrl' then $2::jsonb ->> 'avatarUrl' else u.avatar_url end,
            profile_version = greatest(u.profile_version + 1, floor(extract(epoch from clock_timestamp()) * 1000000)::bigint),
            updated_at      = now()
      where u.id = $1
  returning u.id, u.profile_version`,
    [userId, JSON.stringify(fields)],
  );
  if (rows.length === 0) return null;
  return { userId, version: Number(rows[0].profile_version) };
}
