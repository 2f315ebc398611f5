// Posts get embedded tag names, and a tags collection counts the posts per tag. Existing posts are
// backfilled with an empty list, so every post has the array that the tag index and the API read.
// Down removes the field, its index and the tags collection (the earlier shape).
import {
  dropCollectionIfExists,
  dropIndexIfExists,
  ensureCollection,
  ensureIndexes,
  updateInBatches,
} from '../src/migrations/migration-kit.ts';

const TAG_INDEX = 'tags_1_timestamp_-1__id_-1';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await ensureCollection(db, 'tags');
  await ensureIndexes(db, 'tags', [
    { key: { name: 1 }, name: 'name_1', unique: true },
    { key: { postCount: -1, name: 1 }, name: 'postCount_-1_name_1' },
  ]);
  await updateInBatches(db, 'posts', {
    label: 'posts.tags backfill',
    filter: { tags: { $exists: false } },
    update: { $set: { tags: [] } },
  });
  await ensureIndexes(db, 'posts', [{ key: { tags: 1, timestamp: -1, _id: -1 }, name: TAG_INDEX }]);
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await dropIndexIfExists(db, 'posts', TAG_INDEX);
  await updateInBatches(db, 'posts', {
    label: 'posts.tags removal',
    filter: { tags: { $exists: true } },
    update: { $unset: { tags: '' } },
  });
  await dropCollectionIfExists(db, 'tags');
};
