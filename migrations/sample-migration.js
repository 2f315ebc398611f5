// Template for `npm run migrate -- create <name>` and `npx migrate-mongo create <name>` (migrate-mongo
// copies migrations/sample-migration.js when it exists, and never runs it). Replace the example,
// keep both directions, and make each one safe to re-run after an interruption.
//
// The kit (../src/migrations/migration-kit.js) also has, for new collections and indexes:
//   up:   await ensureCollection(db, 'tags');
//         await db.collection('tags').createIndex({ name: 1 }, { name: 'name_1', unique: true });
//   down: await dropCollectionIfExists(db, 'tags');   or   await dropIndexIfExists(db, 'tags', 'name_1');
// Reshaping documents: transformInBatches (one cursor, bulkWrite in batches, progress on stderr).
// Repeat the selecting condition in each write's filter, so that a re-run touches only what is left.
import { transformInBatches } from '../src/migrations/migration-kit.js';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await transformInBatches(db, 'things', {
    filter: { oldField: { $exists: true } },
    projection: { _id: 1 },
    toWrite: (doc) => ({
      updateOne: {
        filter: { _id: doc._id, oldField: { $exists: true } },
        update: { $rename: { oldField: 'newField' } },
      },
    }),
  });
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await transformInBatches(db, 'things', {
    filter: { newField: { $exists: true } },
    projection: { _id: 1 },
    toWrite: (doc) => ({
      updateOne: {
        filter: { _id: doc._id, newField: { $exists: true } },
        update: { $rename: { newField: 'oldField' } },
      },
    }),
  });
};
