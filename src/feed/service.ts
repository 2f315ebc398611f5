import type { Types } from 'mongoose';
import { AUTH_RECORD_FIELDS, type AuthRecord, type PendingUser } from '../auth/service.ts';
import type { Database } from '../db/connection.ts';
import { toObjectId } from '../db/object-id.ts';
import { type PostView, postLists } from '../posts/schemas.ts';
import { findPostPage } from '../posts/service.ts';
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
  const me = toObjectId(reader.id);
  // The two reads outside the page go through the driver: the same commands as Model.distinct
  // and Model.find, without Mongoose's query building (docs/benchmarks.md).
  const followees = await db.Follow.collection.distinct(
    'followee',
    { follower: me },
    { readPreference: db.listReads.readPreference },
  );
  return findPostPage(
    db,
    postLists.feed(reader.id),
    { author: { $in: [...followees, me] } },
    options,
    async (ids) => {
      const wanted = new Map([...ids, me].map((id) => [String(id), id]));
      const users = await db.User.collection
        .find<AuthRecord>(
          { _id: { $in: [...wanted.values()] } },
          { projection: AUTH_RECORD_FIELDS },
        )
        .toArray();
      await reader.confirm(users.find((u) => String(u._id) === reader.id));
      return users.map((u): { _id: Types.ObjectId; username: string } => ({
        _id: u._id,
        username: u.username,
      }));
    },
  );
}
