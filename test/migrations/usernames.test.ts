import { beforeEach, describe, expect, it } from 'vitest';
import { MigrationFailedError, migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import { changelogNames, indexNames, M, quietRun, seedUsers, useMigrationDb } from './helpers.ts';

const USERS = 300;

describe('migration case-insensitive-usernames, on a real database', { timeout: 300_000 }, () => {
  const t = useMigrationDb('usernames');
  beforeEach(async () => {
    await migrateUp(t.target, quietRun({ to: M.tags }));
  }, 120_000);

  const users = () => t.db.collection('users');
  const aUser = (username: string, i: number) => ({
    username,
    email: `clash${i}@example.com`,
    passwordHash: 'x',
    tokenVersion: 0,
  });

  it('up gives every user its lower-case key under a unique index; down removes both', async () => {
    await seedUsers(t.db, USERS, 'username', (i) => ({ username: `User${i}` }));
    const before = await users().find().sort({ _id: 1 }).toArray();

    await migrateUp(t.target, quietRun({ to: M.usernames, batch: { batchSize: 64 } }));

    const after = await users().find().sort({ _id: 1 }).toArray();
    expect(after).toEqual(
      before.map((u) => ({ ...u, usernameKey: String(u.username).toLowerCase() })),
    );
    expect(await indexNames(t.db, 'users')).toContain('usernameKey_1');
    await expect(
      users().insertOne({ ...aUser('USER7', 1), usernameKey: 'user7' }),
    ).rejects.toMatchObject({ code: 11000 });

    await migrateDown(t.target, quietRun());

    expect(await users().find().sort({ _id: 1 }).toArray()).toEqual(before);
    expect(await indexNames(t.db, 'users')).not.toContain('usernameKey_1');
    expect(await changelogNames(t.db)).not.toContain(M.usernames);
  });

  it('up refuses, listing the clashes, when names differ only by case, and writes nothing', async () => {
    await seedUsers(t.db, 50, 'username');
    const clashing = ['CaseX', 'casex', 'CASEX', 'Bob.Smith', 'bob.smith'];
    await users().insertMany(clashing.map(aUser));
    const before = await users().find().sort({ _id: 1 }).toArray();

    const run = migrateUp(t.target, quietRun({ to: M.usernames }));

    await expect(run).rejects.toThrow(MigrationFailedError);
    await expect(run).rejects.toThrow(
      /2 usernames differ only by case \(CaseX \/ casex \/ CASEX; Bob\.Smith \/ bob\.smith\)/,
    );
    expect(await users().find().sort({ _id: 1 }).toArray()).toEqual(before);
    expect(await indexNames(t.db, 'users')).not.toContain('usernameKey_1');
    expect(await changelogNames(t.db)).not.toContain(M.usernames);

    // Once a person renames the extra accounts, the same migration goes through.
    await users().updateOne({ username: 'casex' }, { $set: { username: 'casex2' } });
    await users().updateOne({ username: 'CASEX' }, { $set: { username: 'CASEX3' } });
    await users().updateOne({ username: 'bob.smith' }, { $set: { username: 'bob.smith2' } });
    await migrateUp(t.target, quietRun({ to: M.usernames }));
    expect(await users().countDocuments({ usernameKey: { $exists: false } })).toBe(0);
  });
});
