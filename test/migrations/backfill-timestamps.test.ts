import { ObjectId } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { readMigrationLock } from '../../src/migrations/lock.ts';
import { MigrationFailedError, migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import {
  changelogNames,
  documentsById,
  M,
  quietRun,
  seedSize,
  seedUsers,
  upInterruptedAt,
  useMigrationDb,
} from './helpers.ts';

const EPOCH = Date.UTC(2013, 0, 1) / 1000;

describe('migration backfill-user-timestamps, on thousands of users', { timeout: 300_000 }, () => {
  const t = useMigrationDb('timestamps');
  let USERS: number;
  beforeEach(async () => {
    await migrateUp(t.target, quietRun({ to: M.rename }));
    USERS = await seedSize(t.db);
    // Users created a day apart since 2013, before the code kept timestamps.
    await seedUsers(t.db, USERS, 'username', (i) => ({
      _id: ObjectId.createFromTime(EPOCH + i * 86_400),
    }));
  }, 120_000);

  const users = () => t.db.collection('users');
  const snapshot = () => documentsById(t.db, 'users');
  const expectBackfilled = async (before: Awaited<ReturnType<typeof snapshot>>) => {
    const after = await snapshot();
    expect(after.size).toBe(USERS);
    for (const [id, old] of before) {
      const createdAt = (old._id as ObjectId).getTimestamp();
      expect(after.get(id)).toEqual({ ...old, createdAt, updatedAt: createdAt });
    }
  };

  it('up sets createdAt and updatedAt from the ObjectId; down removes both', async () => {
    const before = await snapshot();

    await migrateUp(t.target, quietRun({ to: M.timestamps, batch: { batchSize: USERS / 4 } }));

    await expectBackfilled(before);
    const first = await users().findOne({ username: 'user1' });
    expect(first?.createdAt).toEqual(new Date((EPOCH + 86_400) * 1000));

    await migrateDown(t.target, quietRun({ batch: { batchSize: USERS / 4 } }));

    expect(await snapshot()).toEqual(before);
  });

  it('when interrupted half-way, is not recorded, and a re-run completes it', async () => {
    const before = await snapshot();
    const interrupted = upInterruptedAt(t.target, M.timestamps, {
      batchSize: USERS / 4,
      crashAt: USERS / 2,
    });

    await expect(interrupted).rejects.toThrow(MigrationFailedError);
    expect(await users().countDocuments({ createdAt: { $exists: true } })).toBe(USERS / 2);
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts, M.rename]);
    expect(await readMigrationLock(t.db)).toBeUndefined();

    await migrateUp(t.target, quietRun({ to: M.timestamps }));

    await expectBackfilled(before);
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts, M.rename, M.timestamps]);
  });
});
