import { beforeEach, describe, expect, it } from 'vitest';
import { readMigrationLock } from '../../src/migrations/lock.ts';
import { MigrationFailedError, migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import {
  changelogNames,
  documentsById,
  indexNames,
  M,
  quietRun,
  seedSize,
  seedUsers,
  upInterruptedAt,
  useMigrationDb,
} from './helpers.ts';

// FerretDB v1 needs a few milliseconds per updated document, so these take a while there.
describe('migration rename-nickname-to-username, on thousands of users', {
  timeout: 300_000,
}, () => {
  const t = useMigrationDb('rename');
  let USERS: number;
  beforeEach(async () => {
    await migrateUp(t.target, quietRun({ to: M.posts }));
    USERS = await seedSize(t.db);
    await seedUsers(t.db, USERS, 'nickname');
  }, 120_000);

  const users = () => t.db.collection('users');
  const snapshot = () => documentsById(t.db, 'users');

  it('up renames every nickname to username and swaps the unique index; down restores both', async () => {
    const before = await snapshot();

    await migrateUp(t.target, quietRun({ to: M.rename, batch: { batchSize: USERS / 4 } }));

    expect(await users().countDocuments({ nickname: { $exists: true } })).toBe(0);
    const after = await snapshot();
    expect(after.size).toBe(USERS);
    for (const [id, old] of before) {
      const { nickname, ...rest } = old;
      expect(after.get(id)).toEqual({ ...rest, username: nickname });
    }
    expect(await indexNames(t.db, 'users')).toEqual(['_id_', 'email_1', 'username_1']);
    await expect(
      users().insertOne({ username: 'user7', email: 'other@example.com' }),
    ).rejects.toMatchObject({
      code: 11000,
    });

    await migrateDown(t.target, quietRun({ batch: { batchSize: USERS / 4 } }));

    expect(await snapshot()).toEqual(before);
    expect(await indexNames(t.db, 'users')).toEqual(['_id_', 'email_1', 'nickname_1']);
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts]);
  });

  it('when interrupted half-way, is not recorded, releases the lock, and a re-run completes it', async () => {
    const before = await snapshot();
    const interrupted = upInterruptedAt(t.target, M.rename, {
      batchSize: USERS / 4,
      crashAt: (USERS * 3) / 4,
    });

    await expect(interrupted).rejects.toThrow(MigrationFailedError);
    await expect(interrupted).rejects.toThrow(/simulated crash/);
    const renamed = await users().countDocuments({ username: { $exists: true } });
    expect(renamed).toBe((USERS * 3) / 4);
    expect(await users().countDocuments({ nickname: { $exists: true } })).toBe(USERS / 4);
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts]);
    expect(await readMigrationLock(t.db)).toBeUndefined();

    const applied = await migrateUp(t.target, quietRun({ to: M.rename }));

    expect(applied).toEqual([M.rename]);
    const after = await snapshot();
    for (const [id, old] of before) {
      const { nickname, ...rest } = old;
      expect(after.get(id)).toEqual({ ...rest, username: nickname });
    }
    expect(await indexNames(t.db, 'users')).toEqual(['_id_', 'email_1', 'username_1']);
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts, M.rename]);
  });
});
