// The tutorial's "database relationships" step: posts reference their author. The indexes serve
// one author's posts newest first and the global newest-first listing; _id breaks timestamp ties
// so keyset pagination has a total order.
import {
  dropCollectionIfExists,
  ensureCollection,
  ensureIndexes,
} from '../src/migrations/migration-kit.ts';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await ensureCollection(db, 'posts');
  await ensureIndexes(db, 'posts', [
    { key: { author: 1, timestamp: -1, _id: -1 }, name: 'author_1_timestamp_-1__id_-1' },
    { key: { timestamp: -1, _id: -1 }, name: 'timestamp_-1__id_-1' },
  ]);
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await dropCollectionIfExists(db, 'posts');
};
