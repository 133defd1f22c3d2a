/**
 * The write-behind writes to PostgreSQL: a whole flush batch in ONE statement (one round trip,
 * atomic), and the single-change write used when the queue path cannot run.
 *
 * Ordering rule, enforced inside the statement rather than in JavaScript: a change sets a field only
 * when its version is above the version of the change that last set that field
 * (`users.profile_field_versions`, read under `FOR UPDATE`, so a concurrent writer is waited for and
 * then seen); among the changes of one batch the highest version wins each field. Hence
 *   - a duplicate (same version, redelivered or sent twice) is applied once;
 *   - a late older change never overwrites a field a newer change set, in the same batch or later;
 *   - it still sets the fields no newer change touched: `{bio}` v4 arriving after `{displayName}` v5
 *     is not lost;
 *   - `profile_version` is the highest version applied to the row, whatever the arrival order.
 * Merging in JavaScript before the statement would get the late cases wrong: only the row knows
 * which versions it already holds.
 */
import type { Queryable, UserSummary } from '../repositories';
import type { ProfileChange, ProfileFields } from './profile-change';

/** What happened to one change of a batch. */
export enum ProfileChangeOutcome {
  /** At least one of its fields was written (alone, or merged with the user's other changes of the batch). */
  APPLIED = 'applied',
  /** Every field it sets was already set by this version or a newer one: a duplicate or a late older change. */
  SUPERSEDED = 'superseded',
  /** No user has this id (deleted after the change was accepted). */
  UNKNOWN_USER = 'unknown_user',
}

export interface AppliedProfileChanges {
  /** One outcome per input change, in input order. */
  readonly outcomes: ProfileChangeOutcome[];
  /** Each updated user as it now is, in the shape the API caches (`UserSummary`). */
  readonly updated: readonly UserSummary[];
}

const APPLY_BATCH_SQL = `
with incoming as (
  select c.ord, c.user_id, c.version, c.fields
    from jsonb_to_recordset($1::jsonb) as c(ord int, user_id bigint, version bigint, fields jsonb)
),
locked as (
  select u.id, u.profile_field_versions
    from users u
   where u.id in (select user_id from incoming)
   order by u.id
     for update
),
candidates as (
  select i.ord, i.user_id, i.version, f.key, f.value
    from incoming i
    join locked l on l.id = i.user_id
   cross join lateral jsonb_each(i.fields) f
   where i.version > coalesce((l.profile_field_versions ->> f.key)::bigint, 0)
),
winners as (
  select distinct on (user_id, key) ord, user_id, version, key, value
    from candidates
   order by user_id, key, version desc
),
merged as (
  select user_id, max(version) as version,
         jsonb_object_agg(key, value) as fields,
         jsonb_object_agg(key, to_jsonb(version)) as field_versions
    from winners
   group by user_id
),
applied as (
  update users u
     set display_name           = case when m.fields ? 'displayName' then m.fields ->> 'displayName' else u.display_name end,
         bio                    = case when m.fields ? 'bio' then m.fields ->> 'bio' else u.bio end,
         avatar_url             = case when m.fields ? 'avatarUrl' then m.fields ->> 'avatarUrl' else u.avatar_url end,
         profile_field_versions = u.profile_field_versions || m.field_versions,
         profile_version        = greatest(u.profile_version, m.version),
         updated_at             = now()
    from merged m
   where u.id = m.user_id
  returning u.id, u.display_name, u.bio, u.avatar_url, u.profile_version
)
select i.ord,
       (l.id is not null) as user_exists,
       exists (select 1 from winners w where w.ord = i.ord) as won,
       a.id as updated_id, a.display_name, a.bio, a.avatar_url, a.profile_version
  from incoming i
  left join locked l on l.id = i.user_id
  left join applied a on a.id = i.user_id
 order by i.ord`;

interface ApplyRow {
  ord: number;
  user_exists: boolean;
  won: boolean;
  updated_id: string | null;
  display_name: string | null;
  bio: string | null;
  avatar_url: string | null;
  profile_version: string | null;
}

/**
 * Applies `changes` (any users, any order, duplicates allowed) in one statement and one round
 * trip. Throws what PostgreSQL throws; nothing is written then (the statement is atomic).
 */
export async function applyProfileChanges(db: Queryable, changes: readonly ProfileChange[]): Promise<AppliedProfileChanges> {
  if (changes.length === 0) return { outcomes: [], updated: [] };
  const payload = changes.map((c, ord) => ({ ord, user_id: c.userId, version: c.version, fields: c.fields }));
  const { rows } = await db.query<ApplyRow>(APPLY_BATCH_SQL, [JSON.stringify(payload)]);
  const outcomes: ProfileChangeOutcome[] = [];
  const updated = new Map<number, UserSummary>();
  for (const row of rows) {
    if (!row.user_exists) outcomes.push(ProfileChangeOutcome.UNKNOWN_USER);
    else outcomes.push(row.won ? ProfileChangeOutcome.APPLIED : ProfileChangeOutcome.SUPERSEDED);
    if (row.updated_id !== null) {
      const id = Number(row.updated_id);
      updated.set(id, { id, displayName: row.display_name!, bio: row.bio!, avatarUrl: row.avatar_url, version: Number(row.profile_version) });
    }
  }
  return { outcomes, updated: [...updated.values()] };
}

/**
 * Writes one change straight to PostgreSQL, choosing its version in the same statement as
 * `greatest(profile_version + 1, now in µs)`: the hybrid-clock rule of the Redis sequencer,
 * evaluated under the row lock. Used when Redis is unavailable, so that a PATCH still lands durably
 * and reads — which fall back to PostgreSQL while Redis is down — see it. Changes still queued from
 * before carry lower versions; when they arrive they set only the fields this write did not.
 * Returns null when the user does not exist.
 */
export async function writeProfileChangeNow(db: Queryable, userId: number, fields: ProfileFields): Promise<UserSummary | null> {
  const { rows } = await db.query<{ display_name: string; bio: string; avatar_url: string | null; profile_version: string }>(
    `with next as (
       select u.id, greatest(u.profile_version + 1, floor(extract(epoch from clock_timestamp()) * 1000000)::bigint) as version
         from users u where u.id = $1 for update
     )
     update users u
        set display_name           = case when $2::jsonb ? 'displayName' then $2::jsonb ->> 'displayName' else u.display_name end,
            bio                    = case when $2::jsonb ? 'bio' then $2::jsonb ->> 'bio' else u.bio end,
            avatar_url             = case when $2::jsonb ? 'avatarUrl' then $2::jsonb ->> 'avatarUrl' else u.avatar_url end,
            profile_field_versions = u.profile_field_versions || (select jsonb_object_agg(key, to_jsonb(next.version)) from jsonb_object_keys($2::jsonb) as key),
            profile_version        = next.version,
            updated_at             = now()
       from next
      where u.id = next.id
  returning u.display_name, u.bio, u.avatar_url, u.profile_version`,
    [userId, JSON.stringify(fields)],
  );
  if (rows.length === 0) return null;
  const row = rows[0];
  return { id: userId, displayName: row.display_name, bio: row.bio, avatarUrl: row.avatar_url, version: Number(row.profile_version) };
}
