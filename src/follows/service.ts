import { type Types, trusted } from 'mongoose';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import { isDuplicateKeyError } from '../db/errors.ts';
import { AppError } from '../shared/errors.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { findUserOrThrow, NOT_DELETING } from '../users/queries.ts';
import { type FollowEntry, followLists } from './schemas.ts';

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
  const active = await db.User.find(
    { _id: trusted({ $in: [actor.id, targetId] }), ...NOT_DELETING },
    { _id: 1 },
  ).lean();
  if (active.length === 2) return;
  await db.Follow.deleteOne(edge);
  if (!active.some((u) => String(u._id) === actor.id)) {
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

type PopulatedUser = { _id: Types.ObjectId; username: string } | null;
interface StoredEdge {
  _id: Types.ObjectId;
  createdAt: Date;
  follower?: PopulatedUser;
  followee?: PopulatedUser;
}

/**
 * Followers of a user (`direction: 'followers'`) or the users it follows ('following'), newest
 * edge first: the user check, one find on the edge index, one populate of the other side.
 */
export async function listFollows(
  db: Database,
  userId: string,
  direction: 'followers' | 'following',
  options: PageRequest,
): Promise<Page<FollowEntry>> {
  await findUserOrThrow(db, userId);
  const [self, other] =
    direction === 'followers'
      ? (['followee', 'follower'] as const)
      : (['follower', 'followee'] as const);
  const list = followLists[direction](userId);
  const page = keysetQuery(list, options);
  const edges = await db.Follow.find(
    { $and: [{ [self]: userId }, page.filter] },
    { createdAt: 1, [other]: 1 },
  )
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference) // populate's query inherits it
    .populate(other, { username: 1 })
    .lean<StoredEdge[]>();
  // An edge whose other side is gone (a deletion in progress) is left out of the page.
  return keysetPage(list, edges, options.limit, (edge) => {
    const user = edge[other];
    return user
      ? { id: String(user._id), username: user.username, since: edge.createdAt.toISOString() }
      : null;
  });
}
