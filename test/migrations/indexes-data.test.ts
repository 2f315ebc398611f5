import { describe, expect, it } from 'vitest';
import { indexNames, migrate, outputLines, seedUsers, useMigrationDb } from './helpers.ts';

// `migrate -- indexes` builds the indexes the models declare. A unique index over documents
// that lack its field (data stamped past the migration that fills it) would build, and the
// users without the field could no longer be found by it (login by username: 401). It refuses,
// naming how many documents lack what, and builds nothing.
describe('npm run migrate -- indexes, when the data is behind the schema', () => {
  const t = useMigrationDb('indexes_data');

  it('refuses with one line counting the documents that lack the unique key, builds nothing; builds once they have it', async () => {
    expect((await migrate(t, ['up'])).code).toBe(0);
    await seedUsers(t.db, 5, 'username', (i) => ({ usernameKey: `user${i}` }));
    await t.db
      .collection('users')
      .updateMany({ username: { $in: ['user1', 'user3'] } }, { $unset: { usernameKey: '' } });
    await t.db.collection('users').dropIndex('usernameKey_1');

    const refused = await migrate(t, ['indexes']);

    expect(refused.code).not.toBe(0);
    expect(outputLines(refused.stderr)).toEqual([
      expect.stringMatching(
        /^migrate: users: 2 documents lack usernameKey, which the unique index usernameKey_1 needs: the data is behind the schema .*nothing was built \(exit \d+\)$/,
      ),
    ]);
    expect(await indexNames(t.db, 'users')).not.toContain('usernameKey_1');

    for (const username of ['user1', 'user3']) {
      await t.db.collection('users').updateOne({ username }, { $set: { usernameKey: username } });
    }
    const built = await migrate(t, ['indexes']);
    expect(built.code, built.stderr).toBe(0);
    expect(await indexNames(t.db, 'users')).toContain('usernameKey_1');
  });
});
