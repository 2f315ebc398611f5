// The tutorial's first migration: a users table with unique nickname and email. The 2012 tutorial
// called the public name `nickname`; 20240301090000 renames it to `username`.
import {
  dropCollectionIfExists,
  ensureCollection,
  ensureIndexes,
} from '../src/migrations/migration-kit.js';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await ensureCollection(db, 'users');
  await ensureIndexes(db, 'users', [
    { key: { nickname: 1 }, name: 'nickname_1', unique: true },
    { key: { email: 1 }, name: 'email_1', unique: true },
  ]);
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await dropCollectionIfExists(db, 'users');
};
