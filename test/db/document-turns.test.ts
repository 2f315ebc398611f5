import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connection.ts';
import { documentTurns } from '../../src/db/document-turns.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase('turns');
});
afterAll(async () => {
  await dropTestDatabase(db);
});

const tagCount = async (name: string) => (await db.Tag.findOne({ name }).lean())?.postCount;

// The engine seam: feature code writes plain Mongoose, and where the engine loses one of two
// overlapping updates of a document (FerretDB v1: test/capabilities.test.ts sees it lose them
// through the bare driver), the models' writes take turns beneath it.
describe("the models' writes to one document take turns where the engine needs it", () => {
  it('40 concurrent $inc through a model are all applied, on every engine (5 rounds)', async () => {
    for (let round = 0; round < 5; round += 1) {
      const name = `turns-${round}`;
      await db.Tag.create({ name, postCount: 0 });
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          i % 2
            ? db.Tag.updateOne({ name }, { $inc: { postCount: 1 } })
            : db.Tag.findOneAndUpdate({ name }, { $inc: { postCount: 1 } }).lean(),
        ),
      );
      expect(await tagCount(name)).toBe(40);
    }
  });

  it('40 concurrent bulk writes over two tags each are all applied, in any order of names', async () => {
    await db.Tag.create([{ name: 'bulk-a' }, { name: 'bulk-b' }]);
    const inc = (name: string) => ({
      updateOne: { filter: { name }, update: { $inc: { postCount: 1 } } },
    });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        db.Tag.bulkWrite(i % 2 ? [inc('bulk-a'), inc('bulk-b')] : [inc('bulk-b'), inc('bulk-a')]),
      ),
    );
    expect([await tagCount('bulk-a'), await tagCount('bulk-b')]).toEqual([40, 40]);
  });

  it('a write that fails gives its turn back: the next write to the document does not wait', async () => {
    await db.Tag.create({ name: 'fails' });
    for (let i = 0; i < 3; i += 1) {
      await expect(
        db.Tag.findOneAndUpdate(
          { name: 'fails' },
          { $set: { name: 'NOT VALID' } },
          { runValidators: true },
        ),
      ).rejects.toThrow();
    }
    const started = Date.now();
    await db.Tag.updateOne({ name: 'fails' }, { $inc: { postCount: 1 } });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await tagCount('fails')).toBe(1);
  });
});

describe('the turns themselves', () => {
  it('where updates are not atomic, writes to one key run one at a time, in order; other keys do not wait', async () => {
    const turns = documentTurns(false);
    const log: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = turns.run(['a'], async () => {
      log.push('a1 start');
      await held;
      log.push('a1 end');
    });
    const second = turns.run(['a'], async () => log.push('a2'));
    const other = turns.run(['b'], async () => log.push('b'));
    await other;
    expect(log).toEqual(['a1 start', 'b']);
    release();
    await Promise.all([first, second]);
    expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('several keys are taken in one order, so two writes over the same keys never wait for each other', async () => {
    const turns = documentTurns(false);
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        turns.run(i % 2 ? ['x', 'y'] : ['y', 'x'], async () => i),
      ),
    );
    expect(done).toHaveLength(20);
  });

  it('a write that fails releases its turn; one that waits past the limit fails with 503', async () => {
    const turns = documentTurns(false, { waitMs: 100 });
    await expect(
      turns.run(['k'], async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await turns.run(['k'], async () => 'next')).toBe('next');

    let release = () => {};
    const hung = turns.run(
      ['k'],
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    await expect(turns.run(['k'], async () => 'late')).rejects.toMatchObject({
      code: 'database-unavailable',
    });
    release();
    await hung;
    expect(await turns.run(['k'], async () => 'after')).toBe('after');
  });

  it('where updates are atomic (MongoDB), a write never waits', async () => {
    const turns = documentTurns(true);
    let release = () => {};
    const held = turns.run(
      ['k'],
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    expect(await turns.run(['k'], async () => 'at once')).toBe('at once');
    release();
    await held;
  });
});
