import { type Db, MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { BackupError } from '../../src/backups/errors.ts';
import { swapIn } from '../../src/backups/swap-in.ts';
import { dropTestDb, testDbName } from '../helpers/db.ts';

const PREFIXES = { staging: 'restoring_0000000a_', parked: 'replaced_0000000a_' };

/**
 * The swap of a restore on the real server, with faults injected between its renames (the
 * moments a writer or the server can intervene): it finishes or puts every original back.
 */
describe('swapIn', () => {
  let client: MongoClient;
  let db: Db;
  let name: string;
  beforeEach(async () => {
    client = await MongoClient.connect(inject('mongoUri'));
    name = testDbName('swap');
    db = client.db(name);
    for (const coll of ['users', 'tags']) {
      await db.collection(coll).insertOne({ was: 'original' });
      await db
        .collection(PREFIXES.staging + coll)
        .insertMany([{ was: 'restored' }, { was: 'restored' }]);
    }
  });
  afterEach(async () => {
    await dropTestDb(client, name);
    await client.close();
  });

  /** The database, with renameCollection replaced for the test. */
  const withRename = (rename: (from: string, to: string) => Promise<unknown>) =>
    new Proxy(db, {
      get: (target, key) =>
        key === 'renameCollection' ? rename : Reflect.get(target, key, target),
    }) as Db;
  const contents = async () => ({
    users: (await db.collection('users').find().toArray()).map((d) => d.was),
    tags: (await db.collection('tags').find().toArray()).map((d) => d.was),
    names: (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort(),
  });
  const asBefore = {
    users: ['original'],
    tags: ['original'],
    names: [`${PREFIXES.staging}tags`, `${PREFIXES.staging}users`, 'tags', 'users'].sort(),
  };

  it('a rename failing half-way (the second collection): every original back, exit 14 "not changed"', async () => {
    const faulty = withRename(async (from, to) => {
      if (from === `${PREFIXES.staging}tags`) throw new Error('pretend the server stepped down');
      return db.renameCollection(from, to);
    });

    const swap = swapIn(faulty, ['users', 'tags'], PREFIXES, async () => {});

    await expect(swap).rejects.toThrow(BackupError);
    await expect(swap).rejects.toThrow(
      /pretend the server stepped down; every collection was put back, the target was not changed/,
    );
    expect(await contents()).toEqual(asBefore);
  });

  it("the final check failing: every original back, the check's error", async () => {
    const swap = swapIn(db, ['users', 'tags'], PREFIXES, async () => {
      throw new BackupError('restore-mismatch', 'users: 3 documents, manifest says 2');
    });

    await expect(swap).rejects.toThrow('users: 3 documents, manifest says 2');
    expect(await contents()).toEqual(asBefore);
  });

  it('a writer recreating a collection between the renames: moved aside, the rename tried again, the restore in place', async () => {
    let intruded = false;
    const racing = withRename(async (from, to) => {
      if (from === `${PREFIXES.staging}tags` && !intruded) {
        intruded = true;
        await db.collection('tags').insertOne({ was: 'intruder' });
      }
      return db.renameCollection(from, to);
    });

    await swapIn(racing, ['users', 'tags'], PREFIXES, async () => {});

    expect(intruded).toBe(true);
    expect(await contents()).toEqual({
      users: ['restored', 'restored'],
      tags: ['restored', 'restored'],
      names: ['tags', 'users'],
    });
  });
});
