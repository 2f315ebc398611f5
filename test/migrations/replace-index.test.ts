import { beforeEach, describe, expect, it } from 'vitest';
import { replaceIndex } from '../../src/migrations/migration-kit.ts';
import { indexNames, useMigrationDb } from './helpers.ts';

const DUPLICATES = /duplicate key|E11000|UNIQUE constraint failed/i;
const HANDLE = { name: 'h', key: { handle: 1 }, unique: true as const };

describe('replaceIndex (the kit step of a changed index)', { timeout: 60_000 }, () => {
  const t = useMigrationDb('replace');
  const people = () => t.db.collection('people');
  beforeEach(async () => {
    await people().createIndexes([HANDLE]);
    await people().insertMany([
      { handle: 'a', nick: 'same' },
      { handle: 'b', nick: 'same' },
    ]);
  });

  it('when the new index cannot be built, the guard keeps the old uniqueness, and a re-run finishes', async () => {
    const byNick = { name: 'h', key: { nick: 1 }, unique: true as const };

    // MongoDB: E11000 duplicate key (11000); FerretDB v1: code 1, SQLite's UNIQUE constraint failed.
    await expect(replaceIndex(t.db, 'people', HANDLE, byNick)).rejects.toThrow(DUPLICATES);

    expect(await indexNames(t.db, 'people')).toEqual(['_id_', 'h_guard']);
    await expect(people().insertOne({ handle: 'a', nick: 'other' })).rejects.toMatchObject({
      code: 11000,
    });
    await people().updateOne({ handle: 'b' }, { $set: { nick: 'fixed' } });
    await replaceIndex(t.db, 'people', HANDLE, byNick);
    expect(await indexNames(t.db, 'people')).toEqual(['_id_', 'h']);
    await expect(people().insertOne({ handle: 'c', nick: 'same' })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('a new unique constraint the data breaks fails before anything is dropped', async () => {
    const loose = { name: 'n', key: { nick: 1 } };
    await people().createIndexes([loose]);

    await expect(replaceIndex(t.db, 'people', loose, { ...loose, unique: true })).rejects.toThrow(
      DUPLICATES,
    );

    expect(await indexNames(t.db, 'people')).toEqual(['_id_', 'h', 'n']);
  });

  it('run again once done, it changes nothing', async () => {
    const sparse = { ...HANDLE, sparse: true as const };
    await replaceIndex(t.db, 'people', HANDLE, sparse);
    const before = await people().indexes();

    await replaceIndex(t.db, 'people', HANDLE, sparse);

    expect(await people().indexes()).toEqual(before);
  });
});
