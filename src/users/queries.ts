import { type Types, trusted } from 'mongoose';
import type { Database } from '../models.ts';
import { toObjectId } from '../db/object-id.ts';
import { AppError } from '../shared/errors.ts';
import type { UserRecord } from './model.ts';

export type StoredUser = Pick<UserRecord, '_id' | 'username' | 'email' | 'createdAt' | 'updatedAt'>;
export const publicFields = { username: 1, email: 1, createdAt: 1, updatedAt: 1 } as const;

/** Profile and account writes of a user whose deletion has begun match nothing (404). */
export const NOT_DELETING = { deletingSince: trusted({ $exists: false }) };

export async function findUserOrThrow(
  db: Database,
  userId: string | Types.ObjectId,
): Promise<StoredUser> {
  // Through the driver: the command findById sends, without Mongoose's query building.
  const user = await db.User.collection.findOne<StoredUser>(
    { _id: toObjectId(userId) },
    { projection: publicFields },
  );
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  return user;
}

/**
 * True while the user exists and its deletion has not begun: writes that might land after a
 * deletion's cascade ask this after they wrote, and undo themselves when it is false.
 */
export async function isActiveUser(
  db: Database,
  userId: string | Types.ObjectId,
): Promise<boolean> {
  return (await db.User.exists({ _id: userId, ...NOT_DELETING })) !== null;
}
