import { type Types, trusted } from 'mongoose';
import { z } from 'zod';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import { isDuplicateKeyError } from '../db/errors.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { AppError } from '../shared/errors.ts';
import type { Page } from '../shared/page.ts';
import { findUserOrThrow, NOT_DELETING } from '../users/queries.ts';
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

const followCursor = z.strictObject({
  t: z.number().int(),
  id: z.string().regex(/^[0-9a-f]{24}$/),
});

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
  options: { limit: number; cursor?: string },
): Promise<Page<FollowEntry>> {
  await findUserOrThrow(db, userId);
  const [self, other] =
    direction === 'followers'
      ? (['followee', 'follower'] as const)
      : (['follower', 'followee'] as const);
  const filter: Record<string, unknown> = { [self]: userId };
  if (options.cursor) {
    const { t, id } = decodeCursor(options.cursor, followCursor);
    const createdAt = new Date(t);
    filter.$or = [
      { createdAt: trusted({ $lt: createdAt }) },
      { createdAt, _id: trusted({ $lt: id }) },
    ];
  }
  const edges = await db.Follow.find(filter, { createdAt: 1, [other]: 1 })
    .sort({ createdAt: -1, _id: -1 })
    .limit(options.limit + 1)
    .populate(other, { username: 1 })
    .lean<StoredEdge[]>();
  const page = edges.slice(0, options.limit);
  const last = page.at(-1);
  const items: FollowEntry[] = [];
  for (const edge of page) {
    const user = edge[other];
    if (user)
      items.push({
        id: String(user._id),
        username: user.username,
        since: edge.createdAt.toISOString(),
      });
  }
  return {
    items,
    nextCursor:
      edges.length > options.limit && last
        ? encodeCursor({ t: last.createdAt.getTime(), id: String(last._id) })
        : null,
  };
}
