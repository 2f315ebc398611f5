// Users get createdAt/updatedAt (Mongoose `timestamps`). Existing users are backfilled from the
// creation time inside their ObjectId; updatedAt falls back to createdAt. Down restores the earlier
// shape by removing both fields, from every user (the earlier code never wrote them).
import { transformInBatches, updateInBatches } from '../src/migrations/migration-kit.ts';

/** @param {import('mongodb').Db} db */
export const up = async (db) => {
  await transformInBatches(db, 'users', {
    label: 'users.createdAt backfill',
    filter: { createdAt: { $exists: false } },
    projection: { _id: 1, updatedAt: 1 },
    toWrite: (user) => {
      if (typeof user._id?.getTimestamp !== 'function') {
        throw new Error(`user ${String(user._id)} has no ObjectId to take a creation time from`);
      }
      const createdAt = user._id.getTimestamp();
      return {
        updateOne: {
          filter: { _id: user._id, createdAt: { $exists: false } },
          update: { $set: user.updatedAt ? { createdAt } : { createdAt, updatedAt: createdAt } },
        },
      };
    },
  });
};

/** @param {import('mongodb').Db} db */
export const down = async (db) => {
  await updateInBatches(db, 'users', {
    label: 'users.createdAt removal',
    filter: { $or: [{ createdAt: { $exists: true } }, { updatedAt: { $exists: true } }] },
    update: { $unset: { createdAt: '', updatedAt: '' } },
  });
};
