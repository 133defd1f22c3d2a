/**
 * PATCH /api/users/{id}/profile (write-behind) end to end: the API sends to the SQS FIFO queue
 * (client mocked by aws-sdk-client-mock), the messages it sent are handed to the flusher core as SQS
 * event records, the flusher writes real PostgreSQL; real Redis in both topologies.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import Redis, { Cluster } from 'ioredis';
import { Pool } from 'pg';
import { CacheClient, decodeEnvelope, ReadThroughCache } from '../../../lambda/runtime/cache';
import type { UserSummary } from '../../../lambda/shop/repositories';
import { UserRepository } from '../../../lambda/shop/repositories';
import type { CacheKeys } from '../../../lambda/runtime/keys';
import { TtlClass } from '../../../lambda/runtime/ttl';
import { refreshCachedProfiles } from '../../../lambda/shop/write-behind/cache-refresh';
import { InMemoryDeadLetterSink } from '../../../lambda/runtime/write-behind/dead-letters';
import { flushProfileChanges, toFlushRecord } from '../../../lambda/shop/write-behind/flusher';
import { isDataException, toOriginError, toWriteError } from '../../../lambda/runtime/db/origin-errors';
import { responseForError } from '../../../lambda/runtime/http/response';
import { PostgresServer, RedisServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { connectClient, freshKeys } from '../runtime/cache/support';
import { seededDatabase } from '../runtime/db/support';
import { apiEvent, json, TEST_TTLS, useApiServers } from './support';
import { acceptEverything, buildWriteApi, claims, publishedInvalidations, sentRecords } from './write-support';
import { user as userResource } from '../../../lambda/shop/resources';

const JSON_HEADERS = { 'content-type': 'application/json' };
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

beforeEach(() => {
  sqs.reset();
  eventBridge.reset();
  acceptEverything(sqs, eventBridge);
});
afterAll(() => {
  sqs.restore();
  eventBridge.restore();
});

function patch(id: number | string, payload: unknown, sub: number | null = Number(id), headers: Record<string, string> = JSON_HEADERS) {
  return apiEvent(`/api/users/${id}/profile`, { method: 'PATCH', headers, body: typeof payload === 'string' ? payload : JSON.stringify(payload), ...(sub === null ? {} : { claims: claims(sub) }) });
}

function read(id: number) {
  return apiEvent(`/api/users/${id}`, { claims: claims(id) });
}

interface Accepted {
  status: string;
  version: number;
  changeId?: string;
  profile: UserSummary;
}

describeEachTopology('write-behind profiles', (topology) => {
  const servers = useApiServers(topology, { products: 5, users: 40 });
  let pool: Pool;
  let redis: Redis | Cluster;
  beforeAll(() => ({ pool, redis } = servers));

  /** An API instance of its own (connection, L1), as another Lambda sandbox would be. */
  async function instance(keys: CacheKeys = freshKeys(topology.current())) {
    const client = await servers.client();
    return { ...buildWriteApi(pool, keys, client), client };
  }

  async function dbProfile(id: number): Promise<UserSummary> {
    return (await new UserRepository(pool).findSummary(id))!;
  }

  /** Runs the flusher core over `records` as the Lambda adapter does, refreshing the cached profiles. */
  async function flush(records: SQSRecord[], keys: CacheKeys, client: CacheClient) {
    const cache = new ReadThroughCache({ client, keys, ttls: TEST_TTLS, l1: false });
    return flushProfileChanges(records.map(toFlushRecord), { db: pool, deadLetters: new InMemoryDeadLetterSink(), onUpdated: refreshCachedProfiles(cache, keys) });
  }

  test('answers 202, enqueues one FIFO message for the user, and a read after the 202 on another instance sees the change', async () => {
    const a = await instance();
    const b = await instance(a.keys);
    expect(json((await b.handle(read(1))).body)).toMatchObject({ displayName: (await dbProfile(1)).displayName });
    const response = await a.handle(patch(1, { displayName: 'Ada Lovelace', bio: 'Analyst' }));
    expect(response.statusCode).toBe(202);
    const accepted = json(response.body) as Accepted;
    expect(accepted).toMatchObject({ status: 'queued', profile: { id: 1, displayName: 'Ada Lovelace', bio: 'Analyst', version: accepted.version } });
    const sent = (sqs.commandCalls(SendMessageBatchCommand)[0].args[0].input as SendMessageBatchCommandInput).Entries!;
    expect(sent).toEqual([expect.objectContaining({ MessageGroupId: 'user-1', MessageDeduplicationId: accepted.changeId })]);
    expect(JSON.parse(sent[0].MessageBody!)).toMatchObject({ userId: 1, version: accepted.version, fields: { displayName: 'Ada Lovelace', bio: 'Analyst' } });
    // Not in PostgreSQL yet, but every instance reads it.
    expect((await dbProfile(1)).displayName).not.toBe('Ada Lovelace');
    const after = await b.handle(read(1));
    expect(after.headers['x-cache']).toBe('redis');
    expect(json(after.body)).toEqual(accepted.profile);
  });

  test('the flusher writes the queued change, then the cache and PostgreSQL hold the same profile', async () => {
    const api = await instance();
    const accepted = json((await api.handle(patch(2, { bio: 'flushed' }))).body) as Accepted;
    const report = await flush(sentRecords(sqs), api.keys, api.client);
    expect(report).toMatchObject({ applied: 1, batchItemFailures: [] });
    const db = await dbProfile(2);
    expect(db).toEqual(accepted.profile);
    expect(decodeEnvelope<UserSummary>(await redis.get(userResource.key(api.keys, { id: 2 })))?.v).toEqual(db);
  });

  test('the same message delivered twice is applied once', async () => {
    const api = await instance();
    await api.handle(patch(3, { bio: 'once' }));
    const [message] = sentRecords(sqs);
    expect((await flush([message], api.keys, api.client)).applied).toBe(1);
    await pool.query("update users set bio = 'edited by support since' where id = 3");
    const again = await flush([{ ...message, attributes: { ...message.attributes, ApproximateReceiveCount: '2' } }], api.keys, api.client);
    expect(again).toMatchObject({ applied: 0, superseded: 1, batchItemFailures: [] });
    expect((await dbProfile(3)).bio).toBe('edited by support since');
  });

  test('changes delivered out of order never leave the older one in PostgreSQL, and keep the fields only the older one set', async () => {
    const api = await instance();
    const first = json((await api.handle(patch(4, { displayName: 'First name', bio: 'first bio' }))).body) as Accepted;
    const second = json((await api.handle(patch(4, { displayName: 'Second name' }))).body) as Accepted;
    expect(second.version).toBeGreaterThan(first.version);
    const [older, newer] = sentRecords(sqs);
    await flush([newer], api.keys, api.client);
    await flush([older], api.keys, api.client);
    const db = await dbProfile(4);
    expect(db).toMatchObject({ displayName: 'Second name', bio: 'first bio', version: second.version });
    expect(db).toEqual(second.profile);
    expect(decodeEnvelope<UserSummary>(await redis.get(userResource.key(api.keys, { id: 4 })))?.v).toEqual(db);
  });

  test('concurrent changes of one user on two instances are merged in turn: both fields survive, in the cache and after the flush', async () => {
    const a = await instance();
    const b = await instance(a.keys);
    const [ra, rb] = await Promise.all([a.handle(patch(5, { displayName: 'From A' })), b.handle(patch(5, { bio: 'From B' }))]);
    expect([ra.statusCode, rb.statusCode]).toEqual([202, 202]);
    const latest = [json(ra.body), json(rb.body)].map((x) => x as Accepted).sort((x, y) => y.version - x.version)[0];
    expect(latest.profile).toMatchObject({ displayName: 'From A', bio: 'From B' });
    expect(json((await a.handle(read(5))).body)).toMatchObject({ displayName: 'From A', bio: 'From B' });
    await flush(sentRecords(sqs), a.keys, a.client);
    expect(await dbProfile(5)).toMatchObject({ displayName: 'From A', bio: 'From B', version: latest.version });
  });

  test('naive: two concurrent read-merge-store updates without the turn lose one change in the cache', async () => {
    const keys = freshKeys(topology.current());
    const api = await instance(keys);
    const cache = api.personalCache;
    const key = userResource.key(keys, { id: 6 });
    const base = await dbProfile(6);
    await cache.put(key, TtlClass.USER_PROFILE, base, { version: base.version });
    // Both read the same profile, then each stores its own merge.
    const seenByA = (await cache.get<UserSummary>(key, TtlClass.USER_PROFILE, async () => null)).value!;
    const seenByB = (await cache.get<UserSummary>(key, TtlClass.USER_PROFILE, async () => null)).value!;
    await cache.put(key, TtlClass.USER_PROFILE, { ...seenByA, displayName: 'Naive A', version: base.version + 1 }, { version: base.version + 1 });
    await cache.put(key, TtlClass.USER_PROFILE, { ...seenByB, bio: 'Naive B', version: base.version + 2 }, { version: base.version + 2 });
    const cached = decodeEnvelope<UserSummary>(await redis.get(key))?.v;
    expect(cached).toMatchObject({ bio: 'Naive B' });
    expect(cached?.displayName).not.toBe('Naive A');
  });

  test('a profile rebuilt in the cache while an older change was still queued is corrected by the flush', async () => {
    const api = await instance();
    await api.handle(patch(7, { displayName: 'Queued name' }));
    // The cached profile is lost before the flush (eviction, failover)…
    await redis.del(userResource.key(api.keys, { id: 7 }));
    await api.handle(patch(7, { bio: 'Second change' }));
    // …so the second change merged into the profile PostgreSQL had, without 'Queued name'.
    expect(json((await api.handle(read(7))).body)).toMatchObject({ bio: 'Second change' });
    await flush(sentRecords(sqs), api.keys, api.client);
    const db = await dbProfile(7);
    expect(db).toMatchObject({ displayName: 'Queued name', bio: 'Second change' });
    expect(json((await api.handle(read(7))).body)).toEqual(db);
  });

  test('when SQS refuses the change: 503, nothing cached, nothing written', async () => {
    const api = await instance();
    const before = json((await api.handle(read(8))).body);
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: 'c0', Code: 'InternalError', SenderFault: false }] });
    const response = await api.handle(patch(8, { displayName: 'Never queued' }));
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(json((await api.handle(read(8))).body)).toEqual(before);
    expect((await dbProfile(8)).displayName).not.toBe('Never queued');
  });

  test.each([
    ['malformed JSON', 'body', '{"bio": "x"'],
    ['an empty object', 'body', {}],
    ['an unknown field', 'email', { bio: 'x', email: 'a@b.c' }],
    ['a display name of the wrong type', 'displayName', { displayName: 7 }],
    ['a blank display name', 'displayName', { displayName: ' ' }],
    ['an http avatar', 'avatarUrl', { avatarUrl: 'http://img.example/x.png' }],
    ['a bio that is too long', 'bio', { bio: 'x'.repeat(2001) }],
    ['a lone surrogate in the bio', 'bio', { bio: 'hello \ud800 world' }],
    ['a lone low surrogate in the display name', 'displayName', { displayName: 'Ann \udfff' }],
    ['a lone surrogate in the avatar URL', 'avatarUrl', { avatarUrl: 'https://img.example/\ud83d.png' }],
    ['a NUL in the bio', 'bio', { bio: 'a\u0000b' }],
  ])('%s answers 400 naming %s; nothing is enqueued, cached or written', async (_label, field, payload) => {
    const api = await instance();
    const before = await dbProfile(9);
    const response = await api.handle(patch(9, payload));
    expect(response.statusCode).toBe(400);
    expect(json(response.body)).toMatchObject({ error: { code: 'invalid_request', field } });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(await redis.exists(userResource.key(api.keys, { id: 9 }))).toBe(0);
    expect(await dbProfile(9)).toEqual(before);
  });

  test('naive: PostgreSQL refuses what the old checks let through, so a 202 for it would be lost in the flusher', async () => {
    // The old checks refused NUL in the bio but not a lone surrogate. As JSON (the queued change, any
    // jsonb column) PostgreSQL refuses it: 22P02, the flusher dead-letters an accepted change…
    const jsonb = await pool.query('select $1::jsonb as v', [JSON.stringify({ bio: 'hello \ud800 world' })]).catch((error: unknown) => error);
    expect(jsonb).toMatchObject({ code: '22P02' });
    // …and as a text parameter the driver's UTF-8 encoding silently turns it into U+FFFD: the row
    // would then differ from what the API answered and cached.
    await pool.query('update users set bio = $1 where id = 9', ['hello \ud800 world']);
    expect((await pool.query('select bio from users where id = 9')).rows[0].bio).toBe('hello \ufffd world');
    const nul = await pool.query('update users set bio = $1 where id = 9', ['a\u0000b']).catch((error: unknown) => error);
    expect(nul).toMatchObject({ code: expect.stringMatching(/^22/) });
    // A surrogate PAIR is fine: it is one code point.
    expect((await (await instance()).handle(patch(9, { bio: 'tea \u{1F375}' }))).statusCode).toBe(202);
  });

  test('an oversized body, an id out of range and another user\'s id are refused before anything happens', async () => {
    const api = await instance();
    expect(json((await api.handle(patch(9, { bio: 'x'.repeat(17_000) }))).body)).toMatchObject({ error: { field: 'body' } });
    expect(json((await api.handle(patch('9007199254740992', { bio: 'x' }, 9))).body)).toMatchObject({ error: { field: 'id' } });
    expect((await api.handle(patch(10, { bio: 'not mine' }, 9))).statusCode).toBe(403);
    expect((await api.handle(patch(10, { bio: 'no token' }, null))).statusCode).toBe(401);
    // A token whose subject is linked to no user may not write as one.
    expect((await api.handle(patch(424_242, { bio: 'nobody' }, 424_242))).statusCode).toBe(403);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('write-behind profiles with Redis down', () => {
  let server: PostgresServer;
  let pool: Pool;
  let redisServer: RedisServer;
  let client: CacheClient;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool } = await seededDatabase(server, { products: 5, users: 5 }));
    redisServer = await RedisServer.start();
    client = await connectClient({ kind: 'standalone', server: redisServer, url: redisServer.url }, { commandTimeoutMs: 50 });
  });
  afterAll(async () => {
    client?.redis.disconnect();
    await redisServer?.stop();
    await pool?.end();
    await server?.stop();
  });

  test('a value PostgreSQL would refuse is a 400 before anything is written, not a 500', async () => {
    const keys = freshKeys({ kind: 'standalone', server: redisServer, url: redisServer.url });
    const api = buildWriteApi(pool, keys, client);
    const before = (await pool.query('select bio from users where id = 3')).rows[0];
    redisServer.pause();
    try {
      const response = await api.handle(patch(3, { bio: 'hello \ud800 world' }));
      expect(response.statusCode).toBe(400);
      expect(json(response.body)).toMatchObject({ error: { code: 'invalid_request', field: 'bio' } });
    } finally {
      redisServer.resume();
    }
    expect((await pool.query('select bio from users where id = 3')).rows[0]).toEqual(before);
  });

  test('SQLSTATE class 22 on a direct write maps to 400; the naive mapping (unavailability only) answers 500', async () => {
    const refused = await pool.query('select $1::jsonb as v', [JSON.stringify({ bio: 'bad \ud800' })]).catch((error: unknown) => error);
    expect(isDataException(refused)).toBe(true);
    const fixed = responseForError(toWriteError(refused, 5), 'PATCH');
    expect(fixed.response.statusCode).toBe(400);
    expect(json(fixed.response.body)).toMatchObject({ error: { code: 'invalid_request', message: expect.stringMatching(/SQLSTATE 22/) } });
    expect(responseForError(toOriginError(refused, 5), 'PATCH').response.statusCode).toBe(500);
    // Unavailability is still a 503, anything else still a 500.
    expect(responseForError(toWriteError(Object.assign(new Error('gone'), { code: '57P01' }), 5)).response.statusCode).toBe(503);
    expect(responseForError(toWriteError(Object.assign(new Error('bug'), { code: '42601' }), 5)).response.statusCode).toBe(500);
  });

  test('writes the change to PostgreSQL directly (200), reads see it, and the stale cached profile is handed to the purge pipeline', async () => {
    const keys = freshKeys({ kind: 'standalone', server: redisServer, url: redisServer.url });
    const api = buildWriteApi(pool, keys, client);
    expect((await api.handle(read(2))).statusCode).toBe(200);
    await redisServer.kill();
    const response = await api.handle(patch(2, { displayName: 'Written without Redis' }));
    expect(response.statusCode).toBe(200);
    expect(json(response.body)).toMatchObject({ status: 'applied', profile: { id: 2, displayName: 'Written without Redis' } });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    const after = await api.handle(read(2));
    expect(after.headers['x-cache']).toBe('origin');
    expect(json(after.body)).toMatchObject({ displayName: 'Written without Redis' });
    const written = json(response.body) as Accepted;
    expect(publishedInvalidations(eventBridge)).toEqual([{ keys: [userResource.key(keys, { id: 2 })], upToVersion: written.version, reason: 'profile of user 2 written while Redis was unavailable' }]);
  });
});
