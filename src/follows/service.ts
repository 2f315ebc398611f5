import type { Database } from '../db/connection.ts';
import { isDuplicateKeyError } from '../db/errors.ts';
import type { AuthUser } from '../shared/auth-user.ts';
import { AppError } from '../shared/errors.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { activeUserIds, findUserOrThrow } from '../users/queries.ts';
import { findFollowPage } from './queries.ts';
import type { FollowEntry } from './schemas.ts';

/**
 * Follows `targetId`; following again is a no-op (one edge per pair, unique index). After the
 * write both users are read again: when either has begun its deletion meanwhile (or is gone),
 * the edge is taken back, so that a follow racing a deletion never leaves an edge behind (the
 * deletion removes the edges written before its mark, this check those written after).
 */
export async function follow(db: Database, actor: AuthUser, targetId: string): Promise<void> {
  if (actor.id === targetId) throw new AppError('cannot-follow-self', 'You cannot follow yourself');
  await findUserOrThrow(db, targetId);
  const edge = { follower: actor.id, followee: targetId };
  try {
    await db.Follow.updateOne(edge, { $setOnInsert: { createdAt: new Date() } }, { upsert: true });
  } catch (error) {
    // Two concurrent follows of the same pair: the unique index let one insert; same outcome.
    if (!isDuplicateKeyError(error)) throw error;
  }
  const active = await activeUserIds(db, [actor.id, targetId]);
  if (active.size === 2) return;
  await db.Follow.deleteOne(edge);
  if (!active.has(actor.id)) {
    throw new AppError('invalid-token', 'The account is being deleted');
  }
  throw new AppError('user-not-found', 'No user with that id');
}

/** Stops following; unfollowing someone you do not follow is a no-op. */
export async function unfollow(db: Database, actor: AuthUser, targetId: string): Promise<void> {
  if (actor.id === targetId) throw new AppError('cannot-follow-self', 'You cannot follow yourself');
  await findUserOrThrow(db, targetId);
  await db.Follow.deleteOne({ follower: actor.id, followee: targetId });
}

/**
 * Followers of a user (`direction: 'followers'`) or the users it follows ('following'), newest
 * edge first: the user check, then the page of edges with the other side populated.
 */
export async function listFollows(
  db: Database,
  userId: string,
  direction: 'followers' | 'following',
  options: PageRequest,
): Promise<Page<FollowEntry>> {
  await findUserOrThrow(db, userId);
  return findFollowPage(db, userId, direction, options);
}
