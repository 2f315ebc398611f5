import type { Database } from '../db/connection.ts';
import { collidingField, isDuplicateKeyError } from '../db/errors.ts';
import { inTransactionIfAvailable } from '../db/transactions.ts';
import { countFollows, deleteFollowsOf } from '../follows/queries.ts';
import { countPostsByAuthor, deletePostsByAuthor } from '../posts/queries.ts';
import type { AuthUser } from '../shared/auth-user.ts';
import { AppError } from '../shared/errors.ts';
import { beginTagWrite, moveTagCounts } from '../tags/counters.ts';
import { usernameKey } from '../users/model.ts';
import { hashPassword } from '../users/password.ts';
import { findUserOrThrow, NOT_DELETING, toUserView } from '../users/queries.ts';
import type { UserView } from '../users/schemas.ts';

/** Names the unique field a write collided on (username or email). */
async function conflictError(
  db: Database,
  error: unknown,
  values: { username?: string; email?: string },
): Promise<AppError | undefined> {
  if (!isDuplicateKeyError(error)) return undefined;
  const field = await collidingField(db.User, error, {
    usernameKey: values.username === undefined ? undefined : usernameKey(values.username),
    email: values.email?.trim().toLowerCase(),
  });
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

/**
 * A user with its counts. Counts are counted, not stored: each is one indexed count, and a count
 * that is never written can never drift.
 */
export async function getUser(
  db: Database,
  userId: string,
  viewer: AuthUser | undefined,
): Promise<UserView> {
  const [user, postCount, { followerCount, followingCount }] = await Promise.all([
    findUserOrThrow(db, userId),
    countPostsByAuthor(db, userId),
    countFollows(db, userId),
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
    const user = await db.User.findOneAndUpdate({ _id: userId, ...NOT_DELETING }, update, {
      returnDocument: 'after',
      runValidators: true,
    }).lean();
    if (!user) throw new AppError('user-not-found', 'No user with that id');
    return toUserView(user, { self: true });
  } catch (error) {
    throw (await conflictError(db, error, fields)) ?? error;
  }
}

/**
 * Deletes a user and everything that references it. The first write marks the user as being
 * deleted and bumps its tokenVersion: every token it holds stops working (401) and its writes
 * are refused from then on, so its clients cannot keep the cascade busy. Writes that passed
 * authentication just before the mark check the user again after they wrote and undo
 * themselves (posts, follows). Then the cascade: follows in both directions, posts, the user
 * (its embedded profile goes with it); with transactions all at once, without them in that
 * order, so that a crash leaves a marked user that can log in and delete itself again. The tag
 * counters of the deleted posts move after the cascade, outside its transaction (a popular
 * tag's counter would make it collide with every post of that tag); a crash before they move
 * leaves drift that the reconciler's periodic check repairs. A last sweep, owned by the
 * deletion, removes what a write that crashed before undoing itself may have left.
 */
export async function deleteUser(db: Database, actor: AuthUser, userId: string): Promise<void> {
  assertSelf(actor, userId);
  const marked = await db.User.updateOne(
    { _id: userId },
    { $set: { deletingSince: new Date() }, $inc: { tokenVersion: 1 } },
    { timestamps: false },
  );
  if (marked.matchedCount === 0) throw new AppError('user-not-found', 'No user with that id');
  const write = beginTagWrite(db);
  try {
    const deltas = await inTransactionIfAvailable(db, async (session) => {
      await deleteFollowsOf(db, userId, session);
      const moves = await deletePostsByAuthor(db, userId, write, session);
      await db.Presence.deleteOne({ _id: userId }, { session });
      await db.User.deleteOne({ _id: userId }, { session });
      return moves;
    });
    await moveTagCounts(db, deltas);
    await deleteFollowsOf(db, userId);
    await moveTagCounts(db, await deletePostsByAuthor(db, userId, write));
  } finally {
    write.end();
  }
}
