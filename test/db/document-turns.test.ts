import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connection.ts';
import { documentKey, documentTurns } from '../../src/db/document-turns.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase('turns');
});
afterAll(async () => {
  await dropTestDatabase(db);
});

const counters = () => db.connection.getClient().db(db.connection.name).collection('counters');

describe("the process's writes to one document take turns", () => {
  it('40 concurrent $inc through db.turns are all applied, on every engine', async () => {
    // The same race the capability probe loses on FerretDB v1 (test/capabilities.test.ts).
    for (let round = 0; round < 5; round += 1) {
      const _id = `t${round}` as never;
      await counters().insertOne({ _id, n: 0 });
      await Promise.all(
        Array.from({ length: 40 }, () =>
          db.turns.run([documentKey('counters', _id)], () =>
            counters().updateOne({ _id }, { $inc: { n: 1 } }),
          ),
        ),
      );
      expect(((await counters().findOne({ _id })) as unknown as { n: number }).n).toBe(40);
    }
  });

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
