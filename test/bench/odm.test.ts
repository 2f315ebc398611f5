import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertSameWork, measureOdm, type Pair, readPairs } from '../../scripts/bench/odm.ts';
import { type Dataset, seedDataset } from '../../scripts/bench/seed.ts';
import type { Database } from '../../src/db/connection.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';

// The micro-benchmark (npm run bench -- --only odm) compares Mongoose's reads with driver reads;
// the comparison means something only while both sides send the same commands and answer alike,
// which it checks itself before measuring: these tests hold that check to account.
let db: Database;
let data: Dataset;
let dbName: string;
beforeAll(async () => {
  db = await openTestDatabase('bench_odm');
  dbName = db.connection.name;
  data = await seedDataset(db.connection.getClient().db(dbName), 0.001, () => {});
});
afterAll(async () => {
  await dropTestDatabase(db);
});

const pair = (name: string): Pair => {
  const found = readPairs(data).find((p) => p.name === name);
  if (!found) throw new Error(name);
  return found;
};

describe('the bench: Mongoose against the driver (--only odm)', () => {
  it("sends Mongoose's commands from the driver side and returns the same views, for every read", async () => {
    const seen = new Map<string, string[]>();
    for (const p of readPairs(data)) seen.set(p.name, await assertSameWork(db, dbName, p));
    expect(Object.fromEntries(seen)).toEqual({
      'GET /api/posts': ['find posts', 'find users'],
      'GET /api/users/:id/posts': ['find users', 'find posts'],
      'GET /api/feed': ['distinct follows', 'find posts', 'find users'],
      'GET /api/posts/:id': ['find posts', 'find users'],
    });
  });

  it('fails loudly when the driver side sends another command (here, a wider projection)', async () => {
    const real = pair('GET /api/posts/:id');
    const wider: Pair = {
      ...real,
      driver: async (raw, i) => {
        const view = await real.driver(raw, i);
        await raw.collection('users').findOne({}, { projection: { username: 1, email: 1 } });
        return view;
      },
    };
    await expect(assertSameWork(db, dbName, wider)).rejects.toThrow(
      /GET \/api\/posts\/:id: the driver side does not send Mongoose's commands/,
    );
  });

  it("fails loudly when the driver side answers otherwise with Mongoose's commands", async () => {
    const real = pair('GET /api/posts');
    const other: Pair = {
      ...real,
      driver: async (raw, i) => ({ ...((await real.driver(raw, i)) as object), nextCursor: null }),
    };
    await expect(assertSameWork(db, dbName, other)).rejects.toThrow(
      /GET \/api\/posts: the driver side does not return Mongoose's answer/,
    );
  });

  it('measures client CPU per read on each side, round by round', async () => {
    const results = await measureOdm(
      inject('mongoUri'),
      dbName,
      data,
      { iterations: 3, rounds: 2, warmup: 1 },
      () => {},
    );
    expect(results.map((r) => r.name)).toEqual(readPairs(data).map((p) => p.name));
    for (const r of results) {
      expect(r.perRound.mongoose).toHaveLength(2);
      expect(r.perRound.driver).toHaveLength(2);
      expect(r.mongooseMicros).toBeGreaterThan(0);
      expect(r.driverMicros).toBeGreaterThan(0);
    }
  });
});
