import type { ClientSession, Types } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { type FollowEntry, followLists } from './schemas.ts';

type Side = { _id: Types.ObjectId; username: string } | null;

/**
 * Followers of a user (`direction: 'followers'`) or the users it follows ('following'), newest
 * edge first: one find on the edge index, one populate of the other side.
 */
export async function findFollowPage(
  db: Database,
  userId: string,
  direction: 'followers' | 'following',
  options: PageRequest,
): Promise<Page<FollowEntry>> {
  const [self, other] =
    direction === 'followers'
      ? (['followee', 'follower'] as const)
      : (['follower', 'followee'] as const);
  const list = followLists[direction](userId);
  const page = keysetQuery(list, options);
  const edges = await db.Follow.find(
    { $and: [{ [self]: userId }, page.filter] },
    { createdAt: 1, follower: 1, followee: 1 },
  )
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference) // populate's query inherits it
    .populate<{ follower?: Side; followee?: Side }>(other, { username: 1 })
    .lean();
  // An edge whose other side is gone (a deletion in progress) is left out of the page.
  return keysetPage(list, edges, options.limit, (edge) => {
    const user = edge[other];
    return user
      ? { id: String(user._id), username: user.username, since: edge.createdAt.toISOString() }
      : null;
  });
}

/** The ids of the users `userId` follows: one `distinct` (one command and one reply). */
export function followeeIds(db: Database, userId: Types.ObjectId): Promise<Types.ObjectId[]> {
  return db.Follow.distinct('followee', { follower: userId }).read(db.listReads.readPreference);
}

export async function countFollows(
  db: Database,
  userId: string,
): Promise<{ followerCount: number; followingCount: number }> {
  const [followerCount, followingCount] = await Promise.all([
    db.Follow.countDocuments({ followee: userId }),
    db.Follow.countDocuments({ follower: userId }),
  ]);
  return { followerCount, followingCount };
}

/** Removes every edge of a user, both directions (a step of the user's deletion). */
export function deleteFollowsOf(db: Database, userId: string, session?: ClientSession) {
  return db.Follow.deleteMany({ $or: [{ follower: userId }, { followee: userId }] }, { session });
}
