import { beforeEach, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import {
  ALL_MIGRATIONS,
  documentsById,
  migrationNamed,
  quietRun,
  seedUsers,
  useMigrationDb,
} from './helpers.ts';

const PRESENCE = migrationNamed('move-last-seen-to-presence');
const BEFORE = ALL_MIGRATIONS[ALL_MIGRATIONS.indexOf(PRESENCE) - 1] as string;

describe('migration move-last-seen-to-presence', { timeout: 120_000 }, () => {
  const t = useMigrationDb('presence');
  beforeEach(async () => {
    await migrateUp(t.target, quietRun({ to: BEFORE }));
    // Users as the code before it left them: every other one has been seen.
    await seedUsers(t.db, 40, 'username', (i) => ({
      usernameKey: `user${i}`,
      profile: i % 2 ? { aboutMe: `me ${i}`, lastSeen: new Date(Date.UTC(2026, 0, 1, 0, i)) } : {},
    }));
  });

  it('up moves every lastSeen to the presence collection and leaves the rest of the profile; down moves them back', async () => {
    const before = await documentsById(t.db, 'users');

    await migrateUp(t.target, quietRun({ to: PRESENCE, batch: { batchSize: 7 } }));

    const presence = await documentsById(t.db, 'presence');
    const seen = [...before].filter(([, user]) => user.profile?.lastSeen);
    expect(presence.size).toBe(20);
    for (const [id, user] of seen)
      expect(presence.get(id)?.lastSeen).toEqual(user.profile.lastSeen);
    const after = await documentsById(t.db, 'users');
    for (const [id, user] of before) {
      const { lastSeen: _, ...profile } = user.profile;
      expect(after.get(id)).toEqual({ ...user, profile });
    }
    expect(await t.db.listCollections({ name: 'tag_repairs' }).toArray()).toHaveLength(1);

    await migrateDown(t.target, quietRun({ batch: { batchSize: 7 } }));

    expect(await documentsById(t.db, 'users')).toEqual(before);
    expect(await t.db.listCollections({ name: 'presence' }).toArray()).toHaveLength(0);
  });

  it('a second up after an interrupted one (presence copied, users not yet cleaned) converges', async () => {
    const before = await documentsById(t.db, 'users');
    await migrateUp(t.target, quietRun({ to: PRESENCE }));
    // The state an interruption between the copy and the removal leaves: the field is back.
    for (const [, user] of before)
      if (user.profile?.lastSeen)
        await t.db
          .collection('users')
          .updateOne({ _id: user._id }, { $set: { profile: user.profile } });
    await t.db.collection('changelog').deleteOne({ fileName: PRESENCE });

    await migrateUp(t.target, quietRun({ to: PRESENCE }));

    const presence = await documentsById(t.db, 'presence');
    expect(presence.size).toBe(20);
    expect(
      await t.db.collection('users').countDocuments({ 'profile.lastSeen': { $exists: true } }),
    ).toBe(0);
  });
});
