// Usernames become unique regardless of case: each user gets `usernameKey`, its username in lower
// case, under a unique index, while `username` keeps the spelling the user chose. A database that
// already holds names differing only by case (CaseX and casex) is refused before anything is
// written, with the clashes listed: which account keeps its name is a decision for a person.
// Writers must be stopped meanwhile, as for every migration (deploy order: backup, migrate,
// start): a user registered by the old version would lack the key. Down drops the key.
import {
  dropIndexIfExists,
  ensureIndexes,
  transformInBatches,
  updateInBatches,
} from '../src/migrations/migration-kit.ts';

const KEY_INDEX = { key: { usernameKey: 1 }, name: 'usernameKey_1', unique: true };
const LISTED = 20;

/** Throws, naming them, when two or more usernames are one name regardless of case. */
async function refuseCaseClashes(/** @type {import('mongodb').Db} */ db) {
  /** @type {Map<string, string[]>} */
  const byKey = new Map();
  const cursor = db.collection('users').find({}, { projection: { _id: 0, username: 1 } });
  for await (const { username } of cursor) {
    if (typeof username !== 'string') continue;
    const key = username.toLowerCase();
    byKey.set(key, [...(byKey.get(key) ?? []), username]);
  }
  const clashes = [...byKey.values()].filter((names) => names.length > 1);
  if (clashes.length === 0) return;
  const listed = clashes
    .slice(0, LISTED)
    .map((names) => names.join(' / '))
    .join('; ');
  const more = clashes.length > LISTED ? ` and ${clashes.length - LISTED} more` : '';
  throw new Error(
    `${clashes.length} usernames differ only by case (${listed}${more}); rename all but one ` +
      'of each, then migrate again',
  );
}

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await refuseCaseClashes(db);
  await transformInBatches(db, 'users', {
    label: 'users.usernameKey backfill',
    filter: { usernameKey: { $exists: false } },
    projection: { username: 1 },
    toWrite: (user) =>
      typeof user.username === 'string'
        ? {
            updateOne: {
              filter: { _id: user._id, usernameKey: { $exists: false } },
              update: { $set: { usernameKey: user.username.toLowerCase() } },
            },
          }
        : null,
  });
  await ensureIndexes(db, 'users', [KEY_INDEX]);
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await dropIndexIfExists(db, 'users', KEY_INDEX.name);
  await updateInBatches(db, 'users', {
    label: 'users.usernameKey removal',
    filter: { usernameKey: { $exists: true } },
    update: { $unset: { usernameKey: '' } },
  });
};
