import { hashPassword } from '../auth/passwords.ts';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import { duplicateKeyField, isDuplicateKeyError } from '../db/errors.ts';
import { inTransactionIfAvailable } from '../db/transactions.ts';
import { deletePostsByAuthor } from '../posts/service.ts';
import type { Keyset } from '../shared/cursor.ts';
import { AppError } from '../shared/errors.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { usernameKey } from './model.ts';
import { findUserOrThrow, publicFields, type StoredUser } from './queries.ts';
import type { UserView } from './schemas.ts';

interface Counts {
  postCount: number;
  followerCount: number;
  followingCount: number;
}

function toUserView(user: StoredUser, options: { self: boolean; counts?: Counts }): UserView {
  return {
    id: String(user._id),
    username: user.username,
    ...(options.self ? { email: user.email } : {}),
    ...options.counts,
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
  if (field === 'usernameKey') field = 'username';
  if (field !== 'email' && field !== 'username') {
    const byName = values.username
      ? await db.User.exists({ usernameKey: usernameKey(values.username) })
      : null;
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

function byUsername(order: 1 | -1): Keyset {
  return {
    kind: order === 1 ? 'users:username' : 'users:-username',
    keys: [{ field: 'username', order, type: 'name' }],
  };
}
const USER_LISTS = { username: byUsername(1), '-username': byUsername(-1) } as const;

export async function listUsers(
  db: Database,
  options: PageRequest & { sort: 'username' | '-username' },
): Promise<Page<UserView>> {
  const list = USER_LISTS[options.sort];
  const page = keysetQuery(list, options);
  const users = await db.User.find(page.filter, publicFields)
    .sort(page.sort)
    .limit(page.limit)
    .lean<StoredUser[]>();
  return keysetPage(list, users, options.limit, (u) => toUserView(u, { self: false }));
}

/**
 * A user with its counts. Counts are counted, not stored: each is one indexed count, and a count
 * that is never written can never drift.
 */
export async function getUser(
  db: Database,
  userId: string,
  viewer: AuthUser | undefined,
): Promise<UserView> {
  const [user, postCount, followerCount, followingCount] = await Promise.all([
    findUserOrThrow(db, userId),
    db.Post.countDocuments({ author: userId }),
    db.Follow.countDocuments({ followee: userId }),
    db.Follow.countDocuments({ follower: userId }),
  ]);
  return toUserView(user, {
    self: viewer?.id === userId,
    counts: { postCount, followerCount, followingCount },
  });
}

export async function updateUser(
  db: Database,
  actor: AuthUser,
  userId: string,
  patch: { username?: string; email?: string; password?: string },
): Promise<UserView> {
  assertSelf(actor, userId);
  const { password, ...fields } = patch;
  const update: Record<string, unknown> = {
    $set: {
      ...fields,
      ...(fields.username !== undefined ? { usernameKey: usernameKey(fields.username) } : {}),
    },
  };
  if (password !== undefined) {
    (update.$set as Record<string, unknown>).passwordHash = await hashPassword(password);
    // A new password revokes every token issued with the old one.
    update.$inc = { tokenVersion: 1 };
  }
  try {
    const user = await db.User.findOneAndUpdate({ _id: userId }, update, {
      returnDocument: 'after',
      runValidators: true,
    }).lean<StoredUser>();
    if (!user) throw new AppError('user-not-found', 'No user with that id');
    return toUserView(user, { self: true });
  } catch (error) {
    throw (await conflictError(db, error, fields)) ?? error;
  }
}

/**
 * Deletes a user and everything that references it: its follows in both directions, its posts
 * (moving tag counters), then the user (its embedded profile goes with it). With transactions,
 * all or nothing. Without (standalone mongod, FerretDB), the user goes last so that a crash
 * leaves an account that can simply delete itself again, and posts published in between are
 * swept after it.
 */
export async function deleteUser(db: Database, actor: AuthUser, userId: string): Promise<void> {
  assertSelf(actor, userId);
  await inTransactionIfAvailable(db, async (session) => {
    await db.Follow.deleteMany({ $or: [{ follower: userId }, { followee: userId }] }, { session });
    await deletePostsByAuthor(db, userId, session);
    const { deletedCount } = await db.User.deleteOne({ _id: userId }, { session });
    if (!session) await deletePostsByAuthor(db, userId);
    if (deletedCount === 0) throw new AppError('user-not-found', 'No user with that id');
  });
}
