import { type Types, trusted } from 'mongoose';
import { z } from 'zod';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { AppError } from '../shared/errors.ts';
import type { Page } from '../shared/page.ts';
import { findUserOrThrow } from '../users/service.ts';
import type { PostView } from './schemas.ts';

interface Author {
  _id: Types.ObjectId | string;
  username: string;
}
interface StoredPost {
  _id: Types.ObjectId;
  body: string;
  timestamp: Date;
  author: Author | null;
}

const NEWEST_FIRST = { timestamp: -1, _id: -1 } as const;
const postCursor = z.strictObject({ t: z.number().int(), id: z.string().regex(/^[0-9a-f]{24}$/) });

function toPostView(post: StoredPost): PostView {
  return {
    id: String(post._id),
    body: post.body,
    timestamp: post.timestamp.toISOString(),
    author: post.author ? { id: String(post.author._id), username: post.author.username } : null,
  };
}

/** Posts strictly after the cursor's position in newest-first order. */
function keysetFilter(cursor: string | undefined): Record<string, unknown> {
  if (!cursor) return {};
  const { t, id } = decodeCursor(cursor, postCursor);
  const timestamp = new Date(t);
  return {
    $or: [{ timestamp: trusted({ $lt: timestamp }) }, { timestamp, _id: trusted({ $lt: id }) }],
  };
}

/**
 * One page, newest first, with authors: one `find` for the posts and one for their authors
 * (populate batches the ids), whatever the page size.
 */
async function findPage(
  db: Database,
  filter: Record<string, unknown>,
  options: { limit: number; cursor?: string },
  knownAuthor?: Author,
): Promise<Page<PostView>> {
  const query = db.Post.find(
    { $and: [filter, keysetFilter(options.cursor)] },
    { body: 1, timestamp: 1, author: 1 },
  )
    .sort(NEWEST_FIRST)
    .limit(options.limit + 1);
  const posts = knownAuthor
    ? (await query.lean<StoredPost[]>()).map((p) => ({ ...p, author: knownAuthor }))
    : await query.populate('author', { username: 1 }).lean<StoredPost[]>();
  const items = posts.slice(0, options.limit);
  const last = items.at(-1);
  return {
    items: items.map(toPostView),
    nextCursor:
      posts.length > options.limit && last
        ? encodeCursor({ t: last.timestamp.getTime(), id: String(last._id) })
        : null,
  };
}

export function listPosts(
  db: Database,
  options: { author?: string; since?: string; until?: string; limit: number; cursor?: string },
): Promise<Page<PostView>> {
  const filter: Record<string, unknown> = {};
  if (options.author) filter.author = options.author;
  if (options.since || options.until) {
    filter.timestamp = trusted({
      ...(options.since ? { $gte: new Date(options.since) } : {}),
      ...(options.until ? { $lt: new Date(options.until) } : {}),
    });
  }
  return findPage(db, filter, options);
}

/** A user's posts; the author is read once up front, so no populate is needed. */
export async function listUserPosts(
  db: Database,
  userId: string,
  options: { limit: number; cursor?: string },
): Promise<Page<PostView>> {
  const author = await findUserOrThrow(db, userId);
  return findPage(db, { author: userId }, options, author);
}

export async function createPost(
  db: Database,
  author: AuthUser,
  input: { body: string },
): Promise<PostView> {
  const post = await db.Post.create({ body: input.body, author: author.id });
  return toPostView({ ...post.toObject(), author: { _id: author.id, username: author.username } });
}

export async function getPost(db: Database, postId: string): Promise<PostView> {
  const post = await db.Post.findById(postId, { body: 1, timestamp: 1, author: 1 })
    .populate('author', { username: 1 })
    .lean<StoredPost>();
  if (!post) throw new AppError('post-not-found', 'No post with that id');
  return toPostView(post);
}

/** Tells "no such post" from "not yours" after a write that matched nothing. */
async function explainMiss(db: Database, postId: string): Promise<never> {
  const exists = await db.Post.exists({ _id: postId });
  if (exists) throw new AppError('forbidden', 'Only the author can change this post');
  throw new AppError('post-not-found', 'No post with that id');
}

export async function updatePost(
  db: Database,
  actor: AuthUser,
  postId: string,
  input: { body: string },
): Promise<PostView> {
  const post = await db.Post.findOneAndUpdate(
    { _id: postId, author: actor.id },
    { $set: { body: input.body } },
    { new: true, runValidators: true },
  ).lean<StoredPost>();
  if (!post) return explainMiss(db, postId);
  return toPostView({ ...post, author: { _id: actor.id, username: actor.username } });
}

export async function deletePost(db: Database, actor: AuthUser, postId: string): Promise<void> {
  const { deletedCount } = await db.Post.deleteOne({ _id: postId, author: actor.id });
  if (deletedCount === 0) await explainMiss(db, postId);
}
