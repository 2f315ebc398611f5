// Template for `npm run migrate -- create <name>` and `npx migrate-mongo create <name>` (migrate-mongo
// copies migrations/sample-migration.js when it exists, and never runs it). Replace the example,
// keep both directions, and make each one safe to re-run after an interruption.
// A model change is usually better left to `npm run migrate -- generate <name>`; when this file
// changes the models' shape by hand, run `npm run migrate -- snapshot` after writing it.
//
// The kit (../src/migrations/migration-kit.ts), beside updateInBatches below:
//   transformInBatches(db, coll, { filter, projection, toWrite })  a different write per document
//   ensureCollection(db, 'bookmarks') / dropCollectionIfExists(db, 'bookmarks')
//   ensureIndexes(db, 'bookmarks', [{ key: { user: 1, post: 1 }, name: 'user_1_post_1', unique: true }])
//   dropIndexIfExists(db, 'bookmarks', 'user_1_post_1')
// Name indexes as MongoDB would (`field_1_other_-1`). Indexes come from migrations only
// (MONGODB_AUTO_INDEX is off): a schema.index() without a migration fails
// test/migrations/history.test.ts.
import { updateInBatches } from '../src/migrations/migration-kit.ts';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  // One cursor, one updateMany per batch, progress on stderr; re-running touches what is left.
  await updateInBatches(db, 'things', {
    filter: { oldField: { $exists: true } },
    update: { $rename: { oldField: 'newField' } },
  });
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await updateInBatches(db, 'things', {
    filter: { newField: { $exists: true } },
    update: { $rename: { newField: 'oldField' } },
  });
};
