import { trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { toObjectId } from '../db/object-id.ts';
import { followeeIds } from '../follows/queries.ts';
import { findPostPageWithUser } from '../posts/queries.ts';
import { type PostView, postLists } from '../posts/schemas.ts';
import type { PendingUser } from '../shared/auth-user.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { AUTH_RECORD_FIELDS, type AuthRecord } from '../users/queries.ts';

/**
 * The caller's feed: posts by the users it follows and its own, newest first. Fan-out on read:
 * the followee ids (one `distinct`), then the page over `author: {$in: ids}` on the
 * {author, timestamp, _id} index, then its authors, read with the reader's own record in the
 * same command; that record confirms the token (not revoked, user not deleted) before anything
 * is answered. Three commands in all, the token check included. Nothing is written on posting.
 */
export async function getFeed(
  db: Database,
  reader: PendingUser,
  options: PageRequest,
): Promise<Page<PostView>> {
  const me = toObjectId(reader.id);
  const followees = await followeeIds(db, me);
  const { page, user } = await findPostPageWithUser<AuthRecord>(
    db,
    postLists.feed(reader.id),
    { author: trusted({ $in: [...followees, me] }) },
    options,
    { id: me, fields: AUTH_RECORD_FIELDS },
  );
  await reader.confirm(user ?? undefined);
  return page;
}
