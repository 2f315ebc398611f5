// The tutorial's self-referential `followers` association table, as a collection of one small
// document per edge: one edge per pair, and both listing directions newest first.
import {
  dropCollectionIfExists,
  ensureCollection,
  ensureIndexes,
} from '../src/migrations/migration-kit.ts';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await ensureCollection(db, 'follows');
  await ensureIndexes(db, 'follows', [
    { key: { follower: 1, followee: 1 }, name: 'follower_1_followee_1', unique: true },
    {
      key: { follower: 1, createdAt: -1, _id: -1 },
      name: 'follower_1_createdAt_-1__id_-1',
    },
    {
      key: { followee: 1, createdAt: -1, _id: -1 },
      name: 'followee_1_createdAt_-1__id_-1',
    },
  ]);
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await dropCollectionIfExists(db, 'follows');
};
