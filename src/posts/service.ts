import { type ClientSession, trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { toObjectId } from '../db/object-id.ts';
import { inTransactionIfAvailable } from '../db/transactions.ts';
import type { AuthUser } from '../shared/auth-user.ts';
import { AppError } from '../shared/errors.ts';
import type { Instant } from '../shared/instant.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { tagDeltas, withTagCounts } from '../tags/counters.ts';
import { isActiveUser } from '../users/queries.ts';
import { findPostPage, postExists, toPostView } from './queries.ts';
import { type PostView, postLists } from './schemas.ts';

/** All posts, or an author's, in [since, until): an empty range has an empty answer. */
export function listPosts(
  db: Database,
  options: PageRequest & { author?: string; since?: Instant; until?: Instant },
): Promise<Page<PostView>> {
  const filter: Record<string, unknown> = {};
  if (options.author) filter.author = toObjectId(options.author, 'author');
  if (options.since || options.until) {
    filter.timestamp = trusted({
      ...(options.since ? { $gte: options.since.ms } : {}),
      ...(options.until ? { $lt: options.until.ms } : {}),
    });
  }
  return findPostPage(db, postLists.all(options), filter, options);
}

/**
 * Writes the post, then moves the tag counters: in a transaction where the server has them;
 * elsewhere a failed counter write is made good by a recount (src/tags/counters.ts). Then the
 * author is checked again: a post that lands after its author's deletion began (its request
 * passed authentication just before) is removed by its own request, which answers 401, so that
 * no post outlives its author.
 */
export async function createPost(
  db: Database,
  author: AuthUser,
  input: { body: string; tags?: string[] },
): Promise<PostView> {
  const tags = input.tags ?? [];
  const view = await inTransactionIfAvailable(db, (session) =>
    withTagCounts(
      db,
      session,
      async () => {
        const [post] = await db.Post.create([{ body: input.body, author: author.id, tags }], {
          session,
        });
        if (!post) throw new Error('insert returned no document');
        const result = toPostView({
          ...post.toObject(),
          author: { _id: author.id, username: author.username },
        });
        return { result, deltas: tagDeltas([], tags) };
      },
      tags,
    ),
  );
  if (!(await isActiveUser(db, author.id))) {
    await deletePost(db, author, view.id).catch((error: unknown) => {
      if (!(error instanceof AppError)) throw error; // removed by the deletion meanwhile
    });
    throw new AppError('invalid-token', 'The account is being deleted');
  }
  return view;
}

/** Tells "no such post" from "not yours" after a write that matched nothing. */
async function explainMiss(db: Database, postId: string, session?: ClientSession): Promise<never> {
  if (await postExists(db, postId, session))
    throw new AppError('forbidden', 'Only the author can change this post');
  throw new AppError('post-not-found', 'No post with that id');
}

/**
 * Swaps in the new fields atomically and gets the previous version back, so the tag changes
 * are computed against exactly the version this write replaced, even under concurrent edits.
 */
export function updatePost(
  db: Database,
  actor: AuthUser,
  postId: string,
  input: { body?: string; tags?: string[] },
): Promise<PostView> {
  return inTransactionIfAvailable(db, (session) =>
    withTagCounts(
      db,
      session,
      async () => {
        const before = await db.Post.findOneAndUpdate(
          { _id: postId, author: actor.id },
          { $set: input },
          { returnDocument: 'before', runValidators: true, session },
        ).lean();
        if (!before) return explainMiss(db, postId, session);
        const author = { _id: actor.id, username: actor.username };
        return {
          result: toPostView({ ...before, ...input, author }),
          deltas: input.tags ? tagDeltas(before.tags ?? [], input.tags) : new Map(),
        };
      },
      input.tags,
    ),
  );
}

export function deletePost(db: Database, actor: AuthUser, postId: string): Promise<void> {
  return inTransactionIfAvailable(db, (session) =>
    withTagCounts(db, session, async () => {
      const deleted = await db.Post.findOneAndDelete(
        { _id: postId, author: actor.id },
        { session },
      ).lean();
      if (!deleted) return explainMiss(db, postId, session);
      return { result: undefined, deltas: tagDeltas(deleted.tags ?? [], []) };
    }),
  );
}
