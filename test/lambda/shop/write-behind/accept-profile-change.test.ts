/**
 * A profile change whose cache write fails (a failover times the put out; the change is already
 * queued): it is applied to PostgreSQL now and the cached profile is handed to the purge pipeline.
 * The order of those two is the race: a read that comes between them loads the profile from
 * PostgreSQL and caches it. Purge first (the old order) and that read caches the previous profile,
 * which every read after the 202 is then served from Redis, for the profile's whole TTL; PostgreSQL
 * first and it caches the change. And the purge may run late (the queue redelivers it), after the
 * user's next change was cached and queued but not yet flushed: it carries its change's version
 * (`upToVersion`) and leaves the newer entry; unconditional, it removed it and reads got the older
 * profile from PostgreSQL. Real Redis and PostgreSQL; the failed put is the one thing faked.
 */
import { Pool } from 'pg';
import { CacheClient, ReadThroughCache } from '../../../../lambda/runtime/cache';
import { CacheUnavailableError } from '../../../../lambda/runtime/errors';
import type { CacheKeys } from '../../../../lambda/runtime/keys';
import { LocalInvalidationPublisher, type InvalidationPublisher, type InvalidationRequest } from '../../../../lambda/runtime/invalidation/publisher';
import { UserRepository, type UserSummary } from '../../../../lambda/shop/repositories';
import { user } from '../../../../lambda/shop/resources';
import { acceptProfileChange, ProfileChangeStatus } from '../../../../lambda/shop/write-behind/accept-profile-change';
import type { ProfileChange } from '../../../../lambda/shop/write-behind/profile-change';
import { ProfileSequencer } from '../../../../lambda/shop/write-behind/profile-sequencer';
import { applyProfileChanges } from '../../../../lambda/shop/write-behind/profile-store';
import { PostgresServer } from '../../../support/servers';
import { describeEachTopology } from '../../../support/topologies';
import { connectClient, freshKeys } from '../../runtime/cache/support';
import { seededDatabase } from '../../runtime/db/support';
import { TEST_TTLS } from '../../api/support';

describeEachTopology('a profile change whose cache write failed', (topology) => {
  let server: PostgresServer;
  let pool: Pool;
  let client: CacheClient;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, { products: 1, users: 3 }));
    client = await connectClient(topology.current());
  });
  afterAll(async () => {
    await client?.quit();
    await pool?.end();
    await server?.stop();
  });

  function cacheOf(keys: CacheKeys): ReadThroughCache {
    return new ReadThroughCache({ client, keys, ttls: TEST_TTLS, l1: false });
  }

  /** How `GET /api/users/{id}` reads: through the cache, loading the row on a miss. */
  function readProfile(keys: CacheKeys, id: number): Promise<UserSummary> {
    const users = new UserRepository(pool);
    return cacheOf(keys)
      .get<UserSummary>(user.key(keys, { id }), user.ttl, async () => {
        const found = await users.findSummary(id);
        return found && { value: found, version: found.version };
      })
      .then((read) => read.value!);
  }

  /** The purge pipeline, with another instance's read arriving right after the purge. */
  function purgeThenRead(keys: CacheKeys, id: number): InvalidationPublisher & { purged: InvalidationRequest[] } {
    const purger = new LocalInvalidationPublisher({ redis: client.redis, cacheKeys: keys });
    const purged: InvalidationRequest[] = [];
    return {
      purged,
      publishInvalidation: async (request) => {
        await purger.publishInvalidation(request);
        purged.push(request);
        await readProfile(keys, id);
      },
      publishDomainEvent: (event) => purger.publishDomainEvent(event),
    };
  }

  test('it is applied to PostgreSQL before the purge: the read in between caches the change, and reads after the 202 see it', async () => {
    const keys = freshKeys(topology.current());
    const id = 1;
    const before = await readProfile(keys, id);
    const cache = cacheOf(keys);
    const publisher = purgeThenRead(keys, id);
    const enqueued: ProfileChange[] = [];

    const accepted = await acceptProfileChange(
      {
        sequencer: new ProfileSequencer(client, keys),
        queue: { enqueue: async (changes) => void enqueued.push(...changes) },
        // The put times out (a failover); everything else is the real cache.
        cache: { get: (...args) => cache.get(...args), put: async () => Promise.reject(new CacheUnavailableError('write-through timed out')) },
        keys,
        users: new UserRepository(pool),
        db: pool,
        publisher,
      },
      id,
      { bio: 'written while the cache failed' },
    );

    expect(accepted.status).toBe(ProfileChangeStatus.QUEUED);
    expect(enqueued).toHaveLength(1);
    expect(publisher.purged).toEqual([{ keys: [user.key(keys, { id })], upToVersion: accepted.version, reason: `profile of user ${id} changed while its cache write failed` }]);
    expect(accepted.version).toBeGreaterThan(before.version);
    const after = await readProfile(keys, id);
    expect({ version: after.version, bio: after.bio }).toEqual({ version: accepted.version, bio: 'written while the cache failed' });
  });

  test('naive: purged before PostgreSQL has the change, the read in between caches the previous profile, served after the 202', async () => {
    const keys = freshKeys(topology.current());
    const id = 2;
    const before = await readProfile(keys, id);
    const publisher = purgeThenRead(keys, id);
    const change: ProfileChange = { userId: id, changeId: 'naive-order', version: before.version + 1_000, fields: { bio: 'naive order' }, requestedAt: new Date().toISOString() };

    // The old fallback: purge, then apply to PostgreSQL, then the 202.
    await publisher.publishInvalidation({ keys: [user.key(keys, { id })], reason: 'naive order' });
    await applyProfileChanges(pool, [change]);

    const after = await readProfile(keys, id);
    expect((await new UserRepository(pool).findSummary(id))!.version).toBe(change.version);
    expect(after.version).toBe(before.version);
  });
  /**
   * Change A's cache write fails; its purge is held back (the queue delivers it later); change B is
   * accepted and cached (queued, not yet flushed); then A's purge runs. Returns the version a read
   * then gets, and B's.
   */
  async function latePurge(purgeAs: (request: InvalidationRequest) => InvalidationRequest): Promise<{ read: number; b: number; a: number }> {
    const keys = freshKeys(topology.current());
    const id = 3;
    await readProfile(keys, id);
    const cache = cacheOf(keys);
    const held: InvalidationRequest[] = [];
    const deps = {
      sequencer: new ProfileSequencer(client, keys),
      queue: { enqueue: async () => undefined },
      keys,
      users: new UserRepository(pool),
      db: pool,
      publisher: { publishInvalidation: async (request: InvalidationRequest) => void held.push(request), publishDomainEvent: async () => undefined },
    };
    const failingPut = { get: cache.get.bind(cache), put: async () => Promise.reject(new CacheUnavailableError('write-through timed out')) };
    const a = await acceptProfileChange({ ...deps, cache: failingPut }, id, { bio: 'A' });
    const b = await acceptProfileChange({ ...deps, cache }, id, { bio: 'B' });
    expect(held).toHaveLength(1);
    await new LocalInvalidationPublisher({ redis: client.redis, cacheKeys: keys }).publishInvalidation(purgeAs(held[0]));
    return { read: (await readProfile(keys, id)).version, a: a.version, b: b.version };
  }

  test('a purge that runs after a later change was cached leaves that change: it removes only up to its own version', async () => {
    const { read, b } = await latePurge((request) => request);
    expect(read).toBe(b);
  });

  test('naive: the late purge without upToVersion removes the later change, and reads get the older profile from PostgreSQL', async () => {
    const { read, a, b } = await latePurge(({ upToVersion: _dropped, ...request }) => request);
    expect(b).toBeGreaterThan(a);
    expect(read).toBe(a);
  });
});
