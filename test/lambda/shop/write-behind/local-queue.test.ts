import { Pool } from 'pg';
import { QueueSendError } from '../../../../lambda/runtime/errors';
import { DeadLetterKind, InMemoryDeadLetterSink } from '../../../../lambda/runtime/write-behind/dead-letters';
import { LocalWriteBehindQueue } from '../../../../lambda/shop/write-behind/local-queue';
import { PostgresServer } from '../../../support/servers';
import { CountingDb, change, profileOf, usersDatabase } from '../../runtime/write-behind/support';

describe('LocalWriteBehindQueue (npm run dev)', () => {
  let server: PostgresServer;
  let pool: Pool;
  let url: string;

  beforeAll(async () => {
    server = await PostgresServer.start();
    ({ pool, url } = await usersDatabase(server, 300));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('flushes queued changes with the flusher core, 100 per statement', async () => {
    const db = new CountingDb(pool);
    const queue = new LocalWriteBehindQueue({ db });
    await queue.enqueue(Array.from({ length: 250 }, (_, i) => change(i + 1, 1, { bio: `local ${i + 1}` })));
    expect(queue.depth).toBe(250);
    const reports = [await queue.flushNow(), await queue.flushNow(), await queue.flushNow(), await queue.flushNow()];
    expect(reports.map((r) => r?.applied)).toEqual([100, 100, 50, undefined]);
    expect(db.roundTrips).toBe(3);
    expect(queue.depth).toBe(0);
    expect((await profileOf(pool, 250)).bio).toBe('local 250');
  });

  it('refuses changes beyond its capacity, keeping none of the refused ones', async () => {
    const queue = new LocalWriteBehindQueue({ db: pool, capacity: 3 });
    await queue.enqueue([change(1, 10, { bio: 'a' }), change(2, 10, { bio: 'b' })]);
    await expect(queue.enqueue([change(3, 10, { bio: 'c' }), change(4, 10, { bio: 'd' })])).rejects.toBeInstanceOf(QueueSendError);
    expect(queue.depth).toBe(2);
  });

  it('takes the same change twice only once', async () => {
    const queue = new LocalWriteBehindQueue({ db: pool });
    const c = change(5, 10, { bio: 'once' });
    await queue.enqueue([c]);
    await queue.enqueue([c]);
    expect(queue.depth).toBe(1);
  });

  it('keeps records in order while PostgreSQL is down, then lands them; past the last receive it dead-letters with the reason', async () => {
    const down = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 500 });
    down.on('error', () => undefined);
    const sink = new InMemoryDeadLetterSink();
    const queue = new LocalWriteBehindQueue({ db: down, deadLetters: sink, batchSize: 2, maxReceiveCount: 3 });
    try {
      await pool.query('checkpoint');
      await queue.enqueue([change(280, 1, { bio: 'first' }), change(280, 2, { displayName: 'second' }), change(281, 1, { bio: 'third' })]);
      await server.kill();
      const failedOnce = await queue.flushNow();
      expect(failedOnce?.originFailed).toBe(true);
      expect(queue.depth).toBe(3);
      await server.restart();
      await queue.stop();
      expect(queue.depth).toBe(0);
      expect(await profileOf(down, 280)).toMatchObject({ bio: 'first', displayName: 'second', version: 2 });
      expect((await profileOf(down, 281)).bio).toBe('third');

      await queue.enqueue([change(282, 1, { bio: 'never written' })]);
      await server.kill();
      for (let i = 0; i < 3; i++) await queue.flushNow();
      expect(queue.depth).toBe(0);
      expect(sink.letters).toEqual([expect.objectContaining({ kind: DeadLetterKind.EXHAUSTED, reason: expect.stringMatching(/^not written after 3 receives/) })]);
    } finally {
      if (server.pid === undefined) await server.restart();
      await down.end();
    }
  });

  it('refuses nonsensical settings', () => {
    expect(() => new LocalWriteBehindQueue({ db: pool, batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
  });
});
