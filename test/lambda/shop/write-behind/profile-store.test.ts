import { Pool } from 'pg';
import { ProfileChangeOutcome, applyProfileChanges, writeProfileChangeNow } from '../../../../lambda/shop/write-behind/profile-store';
import { PostgresServer } from '../../../support/servers';
import { CountingDb, change, profileOf, usersDatabase } from '../../runtime/write-behind/support';

describe('applyProfileChanges (one statement per batch, guarded by per-field versions)', () => {
  let server: PostgresServer;
  let pool: Pool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await usersDatabase(server, 50));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('applies a batch of many users in one round trip and reports each change applied', async () => {
    const db = new CountingDb(pool);
    const changes = [change(1, 10, { displayName: 'Ada' }), change(2, 10, { bio: 'hello' }), change(3, 10, { avatarUrl: null })];
    const result = await applyProfileChanges(db, changes);
    expect(db.roundTrips).toBe(1);
    expect(result.outcomes).toEqual([ProfileChangeOutcome.APPLIED, ProfileChangeOutcome.APPLIED, ProfileChangeOutcome.APPLIED]);
    expect(await profileOf(pool, 1)).toMatchObject({ displayName: 'Ada', version: 10 });
    expect(await profileOf(pool, 2)).toMatchObject({ bio: 'hello', version: 10 });
    expect(await profileOf(pool, 3)).toMatchObject({ avatarUrl: null, version: 10 });
  });

  it('applies the same change delivered twice once: the second time it is superseded and changes nothing', async () => {
    const first = change(4, 5, { displayName: 'Once' });
    await applyProfileChanges(pool, [first]);
    await pool.query("update users set bio = 'edited elsewhere' where id = 4");
    const again = await applyProfileChanges(pool, [first]);
    expect(again.outcomes).toEqual([ProfileChangeOutcome.SUPERSEDED]);
    expect(await profileOf(pool, 4)).toMatchObject({ displayName: 'Once', bio: 'edited elsewhere', version: 5 });
  });

  it('never lets a late older change overwrite a newer one, in a later batch', async () => {
    await applyProfileChanges(pool, [change(5, 20, { displayName: 'Newer', bio: 'newer bio' })]);
    const late = await applyProfileChanges(pool, [change(5, 19, { displayName: 'Older', bio: 'older bio' })]);
    expect(late.outcomes).toEqual([ProfileChangeOutcome.SUPERSEDED]);
    expect(await profileOf(pool, 5)).toMatchObject({ displayName: 'Newer', bio: 'newer bio', version: 20 });
  });

  it('still applies the fields of a late older change that no newer change set', async () => {
    await applyProfileChanges(pool, [change(15, 50, { displayName: 'newer name' })]);
    const late = await applyProfileChanges(pool, [change(15, 49, { displayName: 'older name', bio: 'only the older change set this' })]);
    expect(late.outcomes).toEqual([ProfileChangeOutcome.APPLIED]);
    expect(await profileOf(pool, 15)).toMatchObject({ displayName: 'newer name', bio: 'only the older change set this', version: 50 });
    const again = await applyProfileChanges(pool, [change(15, 49, { displayName: 'older name', bio: 'only the older change set this' })]);
    expect(again.outcomes).toEqual([ProfileChangeOutcome.SUPERSEDED]);
  });

  it('merges the changes of one user within a batch in version order, whatever their order in the batch', async () => {
    const result = await applyProfileChanges(pool, [
      change(6, 3, { displayName: 'third' }),
      change(6, 1, { displayName: 'first', bio: 'first bio' }),
      change(6, 2, { avatarUrl: 'https://img.example/2.png', bio: 'second bio' }),
    ]);
    // v1's two fields are both set again by newer changes of the batch: it has nothing left to write.
    expect(result.outcomes).toEqual([ProfileChangeOutcome.APPLIED, ProfileChangeOutcome.SUPERSEDED, ProfileChangeOutcome.APPLIED]);
    expect(result.updated).toEqual([{ id: 6, displayName: 'third', bio: 'second bio', avatarUrl: 'https://img.example/2.png', version: 3 }]);
    expect(await profileOf(pool, 6)).toEqual({ displayName: 'third', bio: 'second bio', avatarUrl: 'https://img.example/2.png', version: 3 });
  });

  it('applies only the changes newer than the row: a batch with a late v2 and a v4 over a row at v3 applies v4 alone', async () => {
    await applyProfileChanges(pool, [change(7, 3, { displayName: 'v3 name', bio: 'v3 bio' })]);
    const result = await applyProfileChanges(pool, [change(7, 2, { displayName: 'v2 name', bio: 'v2 bio' }), change(7, 4, { displayName: 'v4 name' })]);
    expect(result.outcomes).toEqual([ProfileChangeOutcome.SUPERSEDED, ProfileChangeOutcome.APPLIED]);
    // Merging in JavaScript first would have written 'v2 bio' over 'v3 bio'.
    expect(await profileOf(pool, 7)).toMatchObject({ displayName: 'v4 name', bio: 'v3 bio', version: 4 });
  });

  it('reports changes of users that do not exist without failing the others', async () => {
    const result = await applyProfileChanges(pool, [change(9_999_999, 1, { bio: 'ghost' }), change(8, 1, { bio: 'real' })]);
    expect(result.outcomes).toEqual([ProfileChangeOutcome.UNKNOWN_USER, ProfileChangeOutcome.APPLIED]);
    expect(await profileOf(pool, 8)).toMatchObject({ bio: 'real', version: 1 });
  });

  it('keeps text exactly, quotes and non-ASCII included', async () => {
    const bio = `it's "quoted" \\ back-slashed, ünïcödé 😀, $1 and ' ; drop table users; --`;
    await applyProfileChanges(pool, [change(9, 1, { bio })]);
    expect((await profileOf(pool, 9)).bio).toBe(bio);
  });

  it('waits for a concurrent writer of the same row and judges versions against what it wrote, not what it read before', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`update users set profile_version = 30, bio = 'held bio', profile_field_versions = '{"bio": 30}' where id = 10`);
      const pending = applyProfileChanges(pool, [change(10, 20, { bio: 'older bio' }), change(10, 40, { displayName: 'newer name' })]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await holder.query('commit');
      const result = await pending;
      expect(result.outcomes).toEqual([ProfileChangeOutcome.SUPERSEDED, ProfileChangeOutcome.APPLIED]);
    } finally {
      holder.release();
    }
    // Without the row lock the batch would have judged v20 against the field versions it read before (none).
    expect(await profileOf(pool, 10)).toMatchObject({ displayName: 'newer name', bio: 'held bio', version: 40 });
  });

  it('is atomic: a batch that fails writes nothing', async () => {
    await pool.query('alter table users add constraint no_forbidden_bio check (bio <> $$forbidden$$)');
    try {
      const before = await profileOf(pool, 12);
      await expect(applyProfileChanges(pool, [change(12, 1, { bio: 'fine' }), change(13, 1, { bio: 'forbidden' })])).rejects.toMatchObject({ code: '23514' });
      expect(await profileOf(pool, 12)).toEqual(before);
    } finally {
      await pool.query('alter table users drop constraint no_forbidden_bio');
    }
  });
});

describe('writeProfileChangeNow (the path used when the Redis version clock is down)', () => {
  let server: PostgresServer;
  let pool: Pool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await usersDatabase(server, 5));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('writes the fields and gives the row a wall-clock version above every earlier one', async () => {
    const before = Date.now() * 1000;
    const written = await writeProfileChangeNow(pool, 1, { displayName: 'Direct' });
    expect(written!.version).toBeGreaterThanOrEqual(before - 5_000_000);
    expect(await profileOf(pool, 1)).toMatchObject({ displayName: 'Direct', version: written!.version });
    const next = await writeProfileChangeNow(pool, 1, { bio: 'again' });
    expect(next!.version).toBeGreaterThan(written!.version);
  });

  it('stays above a version issued ahead of the wall clock (profile_version + 1)', async () => {
    const ahead = (Date.now() + 3_600_000) * 1000;
    await applyProfileChanges(pool, [change(2, ahead, { bio: 'from the future' })]);
    const written = await writeProfileChangeNow(pool, 2, { bio: 'now' });
    expect(written!.version).toBe(ahead + 1);
  });

  it('a change queued before the direct write then sets only the fields the direct write did not', async () => {
    const queuedVersion = Date.now() * 1000 - 1_000_000;
    await writeProfileChangeNow(pool, 3, { displayName: 'direct' });
    const late = await applyProfileChanges(pool, [change(3, queuedVersion, { displayName: 'queued earlier', bio: 'queued bio' })]);
    expect(late.outcomes).toEqual([ProfileChangeOutcome.APPLIED]);
    expect(await profileOf(pool, 3)).toMatchObject({ displayName: 'direct', bio: 'queued bio' });
    const sameFieldOnly = await applyProfileChanges(pool, [change(3, queuedVersion + 1, { displayName: 'also earlier' })]);
    expect(sameFieldOnly.outcomes).toEqual([ProfileChangeOutcome.SUPERSEDED]);
  });

  it('returns null for a user that does not exist', async () => {
    expect(await writeProfileChangeNow(pool, 424242, { bio: 'x' })).toBeNull();
  });
});
