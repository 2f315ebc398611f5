import { ObjectId } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { MigrationFailedError, migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import {
  changelogNames,
  dataCollections,
  documentsById,
  indexNames,
  M,
  quietRun,
  seedSize,
  upInterruptedAt,
  useMigrationDb,
} from './helpers.ts';

describe('migration add-post-tags, on thousands of posts', { timeout: 300_000 }, () => {
  const t = useMigrationDb('tags');
  let POSTS: number;
  beforeEach(async () => {
    await migrateUp(t.target, quietRun({ to: M.follows }));
    POSTS = await seedSize(t.db);
    const author = new ObjectId();
    const start = Date.UTC(2024, 0, 1);
    await t.db.collection('posts').insertMany(
      Array.from({ length: POSTS }, (_, i) => ({
        body: `post ${i}`,
        author,
        timestamp: new Date(start + i * 60_000),
      })),
    );
  }, 120_000);

  const posts = () => t.db.collection('posts');
  const snapshot = () => documentsById(t.db, 'posts');

  it('up gives every post an empty tag list, the tag index and the tags collection; down removes them', async () => {
    const before = await snapshot();

    await migrateUp(t.target, quietRun({ to: M.tags, batch: { batchSize: POSTS / 4 } }));

    const after = await snapshot();
    for (const [id, old] of before) expect(after.get(id)).toEqual({ ...old, tags: [] });
    expect(await indexNames(t.db, 'posts')).toContain('tags_1_timestamp_-1__id_-1');
    expect(await indexNames(t.db, 'tags')).toEqual(['_id_', 'name_1', 'postCount_-1_name_1']);

    await migrateDown(t.target, quietRun({ batch: { batchSize: POSTS / 4 } }));

    expect(await snapshot()).toEqual(before);
    expect(await indexNames(t.db, 'posts')).not.toContain('tags_1_timestamp_-1__id_-1');
    expect(await dataCollections(t.db)).toEqual(['follows', 'posts', 'users']);
  });

  it('when interrupted half-way, is not recorded, and a re-run completes it', async () => {
    const before = await snapshot();
    const interrupted = upInterruptedAt(t.target, M.tags, {
      batchSize: POSTS / 4,
      crashAt: POSTS / 4,
    });

    await expect(interrupted).rejects.toThrow(MigrationFailedError);
    expect(await posts().countDocuments({ tags: { $exists: true } })).toBe(POSTS / 4);
    expect(await changelogNames(t.db)).not.toContain(M.tags);

    await migrateUp(t.target, quietRun({ to: M.tags }));

    const after = await snapshot();
    for (const [id, old] of before) expect(after.get(id)).toEqual({ ...old, tags: [] });
    expect(await changelogNames(t.db)).toContain(M.tags);
  });
});
