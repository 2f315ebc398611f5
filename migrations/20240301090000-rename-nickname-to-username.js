// `nickname` becomes `username`, and its unique index follows. The old index is dropped before the
// rename: on MongoDB a unique index counts a missing field as null, so half-renamed users would
// collide on it. Writers must be stopped meanwhile (deploy order: backup, migrate, start).
import {
  dropIndexIfExists,
  ensureIndexes,
  updateInBatches,
} from '../src/migrations/migration-kit.js';

/**
 * @param {import('mongodb').Db} db
 * @param {string} from
 * @param {string} to
 */
async function renameField(db, from, to) {
  await dropIndexIfExists(db, 'users', `${from}_1`);
  await updateInBatches(db, 'users', {
    label: `users.${from} -> ${to}`,
    filter: { [from]: { $exists: true } },
    update: { $rename: { [from]: to } },
  });
  await ensureIndexes(db, 'users', [{ key: { [to]: 1 }, name: `${to}_1`, unique: true }]);
}

/** @param {import('mongodb').Db} db */
export const up = (db) => renameField(db, 'nickname', 'username');

/** @param {import('mongodb').Db} db */
export const down = (db) => renameField(db, 'username', 'nickname');
