import { describe, expect, it } from 'vitest';
import { readModelState } from '../../src/migrations/model-state.ts';
import { migrateDown, migrateUp, readMigrationStatus } from '../../src/migrations/runner.ts';
import { connectDatabase } from '../../src/models.ts';
import {
  ALL_MIGRATIONS,
  changelogNames,
  dataCollections,
  type MigrationTestDb,
  quietRun,
  useMigrationDb,
} from './helpers.ts';

/** What Mongoose would create or drop to match every model's schema indexes. */
async function indexDrift(t: MigrationTestDb) {
  const db = await connectDatabase(t.uri, { dbName: t.name, autoIndex: false });
  try {
    const models = [db.User, db.Post, db.Tag, db.Follow];
    const drift = await Promise.all(
      models.map(async (model) => ({ model: model.modelName, ...(await model.diffIndexes()) })),
    );
    return drift.filter((d) => d.toCreate.length > 0 || d.toDrop.length > 0);
  } finally {
    await db.close();
  }
}

describe('the migration history, all the way up and down', { timeout: 120_000 }, () => {
  const t = useMigrationDb('history', 'describe');

  it('up applies every migration in order and status shows none pending', async () => {
    const applied = await migrateUp(t.target, quietRun());

    expect(applied).toEqual(ALL_MIGRATIONS);
    const status = await readMigrationStatus(t.db);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((a) => a.fileName)).toEqual(ALL_MIGRATIONS);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
  });

  it('after every migration, Mongoose finds no index to create or drop for any model', async () => {
    expect(await indexDrift(t)).toEqual([]);
  });

  it('up again applies nothing', async () => {
    expect(await migrateUp(t.target, quietRun())).toEqual([]);
  });

  it('down one step at a time reaches zero, leaving none of our collections or indexes', async () => {
    for (let left = ALL_MIGRATIONS.length; left > 0; left -= 1) {
      const rolledBack = await migrateDown(t.target, quietRun({ steps: 1 }));
      expect(rolledBack).toEqual([ALL_MIGRATIONS[left - 1]]);
      expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS.slice(0, left - 1));
    }

    expect(await dataCollections(t.db)).toEqual([]);
    expect((await readMigrationStatus(t.db)).pending).toEqual(ALL_MIGRATIONS);
  });

  it('up from zero again rebuilds the same indexes', async () => {
    expect(await migrateUp(t.target, quietRun())).toEqual(ALL_MIGRATIONS);

    expect(await dataCollections(t.db)).toEqual(Object.keys(readModelState().collections).sort());
    expect(await indexDrift(t)).toEqual([]);
  });

  it('the drift check notices an index that no migration created (control)', async () => {
    await t.db.collection('posts').dropIndex('tags_1_timestamp_-1__id_-1');

    const drift = await indexDrift(t);

    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ model: 'Post', toDrop: [] });
    expect(drift[0]?.toCreate).toHaveLength(1);
  });

  it('down --to base rolls everything back at once', async () => {
    const rolledBack = await migrateDown(t.target, quietRun({ to: 'base' }));

    expect(rolledBack).toEqual([...ALL_MIGRATIONS].reverse());
    expect(await dataCollections(t.db)).toEqual([]);
  });
});

describe('a database built by autoIndex before migrations existed', { timeout: 120_000 }, () => {
  const t = useMigrationDb('adopt', 'describe');

  it('runs the whole history, keeps its users and ends with the indexes the models declare', async () => {
    const old = await connectDatabase(t.uri, { dbName: t.name, autoIndex: true });
    try {
      for (const name of ['alice', 'bob', 'carol']) {
        await old.User.create({ username: name, email: `${name}@example.com`, passwordHash: 'h' });
      }
    } finally {
      await old.close();
    }
    const before = await t.db.collection('users').find().sort({ _id: 1 }).toArray();

    expect(await migrateUp(t.target, quietRun())).toEqual(ALL_MIGRATIONS);

    expect(await t.db.collection('users').find().sort({ _id: 1 }).toArray()).toEqual(before);
    expect(await indexDrift(t)).toEqual([]);
  });
});
