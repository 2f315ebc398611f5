import type { Types } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { AppError } from '../shared/errors.ts';
import type { UserRecord } from './model.ts';

export type StoredUser = Pick<UserRecord, '_id' | 'username' | 'email' | 'createdAt' | 'updatedAt'>;
export const publicFields = { username: 1, email: 1, createdAt: 1, updatedAt: 1 } as const;

export async function findUserOrThrow(
  db: Database,
  userId: string | Types.ObjectId,
): Promise<StoredUser> {
  const user = await db.User.findById(userId, publicFields).lean<StoredUser>();
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  return user;
}
