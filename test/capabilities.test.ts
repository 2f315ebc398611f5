import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/connection.ts';
import { isDuplicateKeyError } from '../src/db/errors.ts';
import { dropTestDatabase, openTestDatabase } from './helpers/db.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase('capabilities');
});
afterAll(async () => {
  await dropTestDatabase(db);
});

describe("what the server's identity says it can do", () => {
  it('names the engine and its version', () => {
    expect(['mongodb', 'ferretdb']).toContain(db.capabilities.engine);
    expect(db.capabilities.serverVersion).toMatch(/^\d+\.\d+/);
    console.log(`test server: ${JSON.stringify(db.capabilities)}`);
  });

  it('says truthfully whether concurrent $inc on one document are all applied', async () => {
    const counters = db.connection.getClient().db(db.connection.name).collection('counters');
    // A lossy engine does not lose on every round, so a few rounds are run: an engine said to
    // lose updates must be seen losing at least once, an atomic one never.
    const results: number[] = [];
    for (let round = 0; round < 5; round++) {
      const _id = `c${round}` as never;
      await counters.insertOne({ _id, n: 0 });
      await Promise.all(
        Array.from({ length: 40 }, () => counters.updateOne({ _id }, { $inc: { n: 1 } })),
      );
      const { n } = (await counters.findOne({ _id })) as unknown as { n: number };
      results.push(n);
      if (!db.capabilities.atomicUpdates && n < 40) break;
    }
    console.log(`40 concurrent $inc on one document on ${db.capabilities.engine}: ${results}`);
    if (db.capabilities.atomicUpdates) expect(results.every((n) => n === 40)).toBe(true);
    else expect(Math.min(...results)).toBeLessThan(40);
  });

  it('says truthfully whether racing upserts on a new _id all count, and leaves nothing behind', async () => {
    const scratch = db.connection.getClient().db(db.connection.name).collection('upserts');
    // The racers do what the rate-limit store's first hits of a window do: upsert an $inc, and
    // retry once on a duplicate key. An engine said to lose some must be seen losing; five
    // rounds, since a lossy engine does not lose every one.
    const results: number[] = [];
    for (let round = 0; round < 5; round++) {
      const _id = `u${round}` as never;
      const upsert = () => scratch.updateOne({ _id }, { $inc: { n: 1 } }, { upsert: true });
      await Promise.all(
        Array.from({ length: 20 }, () =>
          upsert().catch((error) => (isDuplicateKeyError(error) ? upsert() : undefined)),
        ),
      );
      results.push(((await scratch.findOne({ _id })) as unknown as { n: number }).n);
      if (!db.capabilities.atomicUpserts && Math.min(...results) < 20) break;
    }
    console.log(`20 racing $inc upserts on a new _id on ${db.capabilities.engine}: ${results}`);
    if (db.capabilities.atomicUpserts) expect(results.every((n) => n === 20)).toBe(true);
    else expect(Math.min(...results)).toBeLessThan(20);
  });

  it('says truthfully whether transactions work', async (ctx) => {
    if (!db.capabilities.transactions) {
      console.log(`skipped: ${db.capabilities.engine} reports no transactions`);
      ctx.skip();
    }
    const session = await db.connection.startSession();
    try {
      await session.withTransaction(async () => {
        await db.Tag.create([{ name: 'in-a-transaction', postCount: 1 }], { session });
      });
    } finally {
      await session.endSession();
    }
    expect(await db.Tag.countDocuments({ name: 'in-a-transaction' })).toBe(1);
  });
});

describe('connecting', () => {
  it('writes nothing: a fresh database has no collection after the app connected to it', async () => {
    const fresh = await openTestDatabase('connect_writes', { autoIndex: false });
    try {
      const names = await fresh.connection.db?.listCollections({}, { nameOnly: true }).toArray();
      expect(names?.map((c) => c.name)).toEqual([]);
    } finally {
      await dropTestDatabase(fresh);
    }
  });
});
