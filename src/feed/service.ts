import { type Types, trusted } from 'mongoose';
import { AUTH_RECORD_FIELDS, type AuthRecord, type PendingUser } from '../auth/service.ts';
import type { Database } from '../db/connection.ts';
import type { PostView } from '../posts/schemas.ts';
import { findPostPage, POST_LISTS } from '../posts/service.ts';
import type { Page, PageRequest } from '../shared/page.ts';

/**
 * The caller's feed: posts by the users it follows and its own, newest first. Fan-out on read:
 * one `distinct` for the followee ids (one command and one reply, however many), then the
 * ordinary post page over `author: {$in: ids}` on the {author, timestamp, _id} index, then one
 * `find` for the page's authors that also reads the reader's own record, which confirms the
 * token (not revoked, user not deleted): three commands in all, the token check included.
 * Nothing is written when someone posts.
 */
export async function getFeed(
  db: Database,
  reader: PendingUser,
  options: PageRequest,
): Promise<Page<PostView>> {
  const followees = await db.Follow.distinct('followee', { follower: reader.id });
  const authors = [...followees.map(String), reader.id];
  return findPostPage(
    db,
    POST_LISTS.feed,
    { author: trusted({ $in: authors }) },
    options,
    async (ids) => {
      const wanted = [...new Set([...ids.map(String), reader.id])];
      const users = await db.User.find({ _id: trusted({ $in: wanted }) }, AUTH_RECORD_FIELDS).lean<
        AuthRecord[]
      >();
      await reader.confirm(users.find((u) => String(u._id) === reader.id));
      return users.map((u): { _id: Types.ObjectId; username: string } => ({
        _id: u._id,
        username: u.username,
      }));
    },
  );
}
