import { type ClientSession, trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { isUnavailableError } from '../db/errors.ts';
import { toObjectId } from '../db/object-id.ts';
import type { AuthUser } from '../shared/auth-user.ts';
import { AppError } from '../shared/errors.ts';
import type { Instant } from '../shared/instant.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { beginTagWrite, moveTagCounts, recordTagRepairs, tagDeltas } from '../tags/counters.ts';
import { isActiveUser } from '../users/queries.ts';
import { findPostPage, findPostTags, postExists, toPostView } from './queries.ts';
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
 * Writes the post on its own (one insert, atomic on every engine), then moves its tags' counters
 * outside any transaction: a counter write that fails is recorded for the reconciler instead of
 * failing or undoing the post (src/tags/counters.ts). An insert whose outcome is unknown (a lost
 * reply looks like a lost request) records its tags too. Then the author is checked again: a
 * post that lands after its author's deletion began (its request passed authentication just
 * before) is removed by its own request, which answers 401, so that no post outlives its author.
 */
export async function createPost(
  db: Database,
  author: AuthUser,
  input: { body: string; tags?: string[] },
): Promise<PostView> {
  const tags = input.tags ?? [];
  const write = beginTagWrite(db, tags);
  let view: PostView;
  try {
    const post = await db.Post.create({ body: input.body, author: author.id, tags }).catch(
      async (error: unknown) => {
        if (isUnavailableError(error)) await recordTagRepairs(db, tags);
        throw error;
      },
    );
    await moveTagCounts(db, tagDeltas([], tags));
    view = toPostView({
      ...post.toObject(),
      author: { _id: author.id, username: author.username },
    });
  } finally {
    write.end();
  }
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
 * Runs a write of one post that may change its tags, then moves the counters by what it changed.
 * The post's tags are read first so that the reconciler knows which tags are being written; if
 * the write found other tags (a concurrent edit), those are recorded for repair. The write
 * swaps the post atomically (findOneAndUpdate/Delete), so the version it replaced is exactly the
 * one it reads back.
 */
async function writePostTags<P extends { tags?: string[] | null }>(
  db: Database,
  actor: AuthUser,
  postId: string,
  newTags: readonly string[],
  write: () => Promise<P | null>,
): Promise<P | null> {
  const current = await findPostTags(db, postId, actor.id);
  const tagWrite = beginTagWrite(db, [...current, ...newTags]);
  try {
    const before = await write().catch(async (error: unknown) => {
      if (isUnavailableError(error)) await recordTagRepairs(db, [...current, ...newTags]);
      throw error;
    });
    if (!before) return null;
    const unexpected = (before.tags ?? []).filter((tag) => !current.includes(tag));
    tagWrite.add(unexpected);
    await recordTagRepairs(db, unexpected);
    return before;
  } finally {
    tagWrite.end();
  }
}

/**
 * Swaps in the new fields atomically and gets the previous version back, so the tag changes
 * are computed against exactly the version this write replaced, even under concurrent edits.
 */
export async function updatePost(
  db: Database,
  actor: AuthUser,
  postId: string,
  input: { body?: string; tags?: string[] },
): Promise<PostView> {
  const before = await writePostTags(db, actor, postId, input.tags ?? [], async () => {
    const replaced = await db.Post.findOneAndUpdate(
      { _id: postId, author: actor.id },
      { $set: input },
      { returnDocument: 'before', runValidators: true },
    ).lean();
    if (replaced && input.tags) await moveTagCounts(db, tagDeltas(replaced.tags ?? [], input.tags));
    return replaced;
  });
  if (!before) return explainMiss(db, postId);
  const author = { _id: actor.id, username: actor.username };
  return toPostView({ ...before, ...input, author });
}

export async function deletePost(db: Database, actor: AuthUser, postId: string): Promise<void> {
  const deleted = await writePostTags(db, actor, postId, [], async () => {
    const removed = await db.Post.findOneAndDelete({
      _id: postId,
      author: actor.id,
    }).lean();
    if (removed) await moveTagCounts(db, tagDeltas(removed.tags ?? [], []));
    return removed;
  });
  if (!deleted) return explainMiss(db, postId);
}
