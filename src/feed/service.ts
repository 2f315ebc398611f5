import { trusted } from 'mongoose';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import type { PostView } from '../posts/schemas.ts';
import { findPostPage } from '../posts/service.ts';
import type { Page } from '../shared/page.ts';

/**
 * The caller's feed: posts by the users it follows and its own, newest first. Fan-out on read:
 * one `distinct` for the followee ids (one command and one reply, however many), then the
 * ordinary post page over `author: {$in: ids}` on the {author, timestamp, _id} index, then
 * populate. Nothing is written when someone posts.
 */
export async function getFeed(
  db: Database,
  actor: AuthUser,
  options: { limit: number; cursor?: string },
): Promise<Page<PostView>> {
  const followees = await db.Follow.distinct('followee', { follower: actor.id });
  const authors = [...followees.map(String), actor.id];
  return findPostPage(db, { author: trusted({ $in: authors }) }, options);
}
