// `nickname` becomes `username`, and its unique index follows. The new index is built after the
// rename: a unique index counts a missing field as null, so half-renamed users would collide on it.
// Uniqueness is not enforced meanwhile: writers must be stopped (deploy order: backup, migrate, start).
import {
  dropIndexIfExists,
  ensureIndexes,
  updateInBatches,
} from '../src/migrations/migration-kit.ts';

const NICKNAME_INDEX = { key: { nickname: 1 }, name: 'nickname_1', unique: true, sparse: true };
const USERNAME_INDEX = { key: { username: 1 }, name: 'username_1', unique: true };

/**
 * @param {import('mongodb').Db} db
 * @param {string} from
 * @param {string} to
 * @param {import('mongodb').IndexDescription & { name: string }} index the unique index on `to`
 */
async function renameField(db, from, to, index) {
  await dropIndexIfExists(db, 'users', `${from}_1`);
  await updateInBatches(db, 'users', {
    label: `users.${from} -> ${to}`,
    filter: { [from]: { $exists: true } },
    update: { $rename: { [from]: to } },
  });
  await ensureIndexes(db, 'users', [index]);
}

/** @param {import('mongodb').Db} db */
export const up = (db) => renameField(db, 'nickname', 'username', USERNAME_INDEX);

/** @param {import('mongodb').Db} db */
export const down = (db) => renameField(db, 'username', 'nickname', NICKNAME_INDEX);
