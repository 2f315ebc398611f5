// The tutorial's first migration: a users table with unique nickname and email. The 2012 tutorial
// called the public name `nickname`; 20240301090000 renames it to `username`. The nickname index
// is sparse so that a database built before migrations existed (users with `username`, indexes
// from Mongoose autoIndex) can run the whole history: its users lack nickname, and a plain unique
// index counts every missing value as one null. (FerretDB v1 ignores sparse; it does not count
// missing values at all.)
import {
  dropCollectionIfExists,
  ensureCollection,
  ensureIndexes,
} from '../src/migrations/migration-kit.ts';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await ensureCollection(db, 'users');
  await ensureIndexes(db, 'users', [
    { key: { nickname: 1 }, name: 'nickname_1', unique: true, sparse: true },
    { key: { email: 1 }, name: 'email_1', unique: true },
  ]);
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await dropCollectionIfExists(db, 'users');
};
