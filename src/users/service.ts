import { type Types, trusted } from 'mongoose';
import { z } from 'zod';
import { hashPassword } from '../auth/passwords.ts';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import { duplicateKeyField, isDuplicateKeyError } from '../db/errors.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { AppError } from '../shared/errors.ts';
import type { Page } from '../shared/page.ts';
import type { UserRecord } from './model.ts';
import type { UserView } from './schemas.ts';

type StoredUser = Pick<UserRecord, '_id' | 'username' | 'email' | 'createdAt' | 'updatedAt'>;
const publicFields = { username: 1, email: 1, createdAt: 1, updatedAt: 1 } as const;

function toUserView(user: StoredUser, options: { self: boolean; postCount?: number }): UserView {
  return {
    id: String(user._id),
    username: user.username,
    ...(options.self ? { email: user.email } : {}),
    ...(options.postCount === undefined ? {} : { postCount: options.postCount }),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

/**
 * Names the unique field a write collided on. When the server does not say (FerretDB on
 * inserts), one read on this error path finds out which of the values is already taken.
 */
async function conflictError(
  db: Database,
  error: unknown,
  values: { username?: string; email?: string },
): Promise<AppError | undefined> {
  if (!isDuplicateKeyError(error)) return undefined;
  let field = duplicateKeyField(error);
  if (field !== 'email' && field !== 'username') {
    const byName = values.username ? await db.User.exists({ username: values.username }) : null;
    field = byName ? 'username' : 'email';
  }
  if (field === 'email') return new AppError('email-taken', 'That email is already registered');
  return new AppError('username-taken', 'That username is taken');
}

function assertSelf(actor: AuthUser, userId: string): void {
  if (actor.id !== userId) throw new AppError('forbidden', 'You can only change your own account');
}

export async function registerUser(
  db: Database,
  input: { username: string; email: string; password: string },
): Promise<UserView> {
  const passwordHash = await hashPassword(input.password);
  try {
    const user = await db.User.create({
      username: input.username,
      email: input.email,
      passwordHash,
    });
    return toUserView(user, { self: true });
  } catch (error) {
    throw (await conflictError(db, error, input)) ?? error;
  }
}

const userCursor = z.strictObject({ u: z.string().min(1).max(64) });

export async function listUsers(
  db: Database,
  options: { sort: 'username' | '-username'; limit: number; cursor?: string },
): Promise<Page<UserView>> {
  const direction = options.sort === 'username' ? 1 : -1;
  const after = options.cursor ? decodeCursor(options.cursor, userCursor).u : undefined;
  const filter =
    after === undefined
      ? {}
      : { username: trusted(direction === 1 ? { $gt: after } : { $lt: after }) };
  const users = await db.User.find(filter, publicFields)
    .sort({ username: direction })
    .limit(options.limit + 1)
    .lean<StoredUser[]>();
  const items = users.slice(0, options.limit);
  const last = items.at(-1);
  return {
    items: items.map((u) => toUserView(u, { self: false })),
    nextCursor: users.length > options.limit && last ? encodeCursor({ u: last.username }) : null,
  };
}

export async function findUserOrThrow(
  db: Database,
  userId: string | Types.ObjectId,
): Promise<StoredUser> {
  const user = await db.User.findById(userId, publicFields).lean<StoredUser>();
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  return user;
}

export async function getUser(
  db: Database,
  userId: string,
  viewer: AuthUser | undefined,
): Promise<UserView> {
  const [user, postCount] = await Promise.all([
    findUserOrThrow(db, userId),
    db.Post.countDocuments({ author: userId }),
  ]);
  return toUserView(user, { self: viewer?.id === userId, postCount });
}

export async function updateUser(
  db: Database,
  actor: AuthUser,
  userId: string,
  patch: { username?: string; email?: string; password?: string },
): Promise<UserView> {
  assertSelf(actor, userId);
  const { password, ...fields } = patch;
  const update: Record<string, unknown> = { $set: { ...fields } };
  if (password !== undefined) {
    (update.$set as Record<string, unknown>).passwordHash = await hashPassword(password);
    // A new password revokes every token issued with the old one.
    update.$inc = { tokenVersion: 1 };
  }
  try {
    const user = await db.User.findOneAndUpdate({ _id: userId }, update, {
      new: true,
      runValidators: true,
    }).lean<StoredUser>();
    if (!user) throw new AppError('user-not-found', 'No user with that id');
    return toUserView(user, { self: true });
  } catch (error) {
    throw (await conflictError(db, error, fields)) ?? error;
  }
}

/**
 * Deletes a user and everything that references it. With transactions, all or nothing; without
 * (standalone mongod, FerretDB), an order that never leaves a post without its author: posts
 * first, then the user, then any post created in between. A retry after a crash finishes the job.
 */
export async function deleteUser(db: Database, actor: AuthUser, userId: string): Promise<void> {
  assertSelf(actor, userId);
  if (db.capabilities.transactions) {
    await db.connection.transaction(async (session) => {
      await db.Post.deleteMany({ author: userId }, { session });
      const { deletedCount } = await db.User.deleteOne({ _id: userId }, { session });
      if (deletedCount === 0) throw new AppError('user-not-found', 'No user with that id');
    });
    return;
  }
  await db.Post.deleteMany({ author: userId });
  const { deletedCount } = await db.User.deleteOne({ _id: userId });
  await db.Post.deleteMany({ author: userId });
  if (deletedCount === 0) throw new AppError('user-not-found', 'No user with that id');
}
