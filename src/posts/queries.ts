import { type ClientSession, type Types, trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import type { Keyset } from '../shared/cursor.ts';
import { AppError } from '../shared/errors.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { recordTagRepairs, type TagDeltas, type TagWrite, tagDeltas } from '../tags/counters.ts';
import type { PostRecord } from './model.ts';
import { type PostView, postLists } from './schemas.ts';

/** What a view of a post shows; the author comes from the users collection through populate. */
const POST_FIELDS = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;
const AUTHOR_FIELDS = { username: 1 } as const;

type Author = { _id: Types.ObjectId; username: string };
/** A post as read, its author populated (null when the author is gone: a deletion in progress). */
type PostWithAuthor = Omit<PostRecord, 'author'> & {
  author: { _id: Types.ObjectId | string; username: string } | null;
};

export function toPostView(post: PostWithAuthor): PostView {
  return {
    id: String(post._id),
    body: post.body,
    timestamp: post.timestamp.toISOString(),
    tags: post.tags ?? [],
    author: post.author ? { id: String(post.author._id), username: post.author.username } : null,
  };
}

/**
 * One page of posts, newest first, with their authors: `find(...).populate('author', 'username')`,
 * two commands whatever the page size (populate batches the page's author ids into one `$in`).
 * Every listing of posts but a user's own goes through here.
 */
export async function findPostPage(
  db: Database,
  list: Keyset,
  filter: Record<string, unknown>,
  options: PageRequest,
): Promise<Page<PostView>> {
  const page = keysetQuery(list, options);
  const posts = await db.Post.find({ $and: [filter, page.filter] }, POST_FIELDS)
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference) // populate's query inherits it
    .populate<{ author: Author | null }>('author', AUTHOR_FIELDS)
    .lean();
  return keysetPage(list, posts, options.limit, toPostView);
}

/**
 * findPostPage, and one more user read in the authors' command: `Post.populate` over the page
 * and a stand-in post of that user (the feed confirms its reader's token with the record it
 * reads alongside the authors). `fields` must include `username`.
 */
export async function findPostPageWithUser<U extends Author>(
  db: Database,
  list: Keyset,
  filter: Record<string, unknown>,
  options: PageRequest,
  user: { id: Types.ObjectId; fields: Record<string, 1> },
): Promise<{ page: Page<PostView>; user: U | null }> {
  const page = keysetQuery(list, options);
  const posts = await db.Post.find({ $and: [filter, page.filter] }, POST_FIELDS)
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference)
    .lean();
  // Not the list's read preference: the stand-in's record confirms a token (see src/db/replication.ts).
  const [stand, ...populated] = await db.Post.populate<{ author: U | null }>(
    [{ author: user.id }, ...posts.slice(0, options.limit)],
    { path: 'author', select: { ...user.fields, ...AUTHOR_FIELDS }, options: { lean: true } },
  );
  // The extra post only tells whether a next page exists: no author is read for it.
  const extra = posts.slice(options.limit) as unknown as typeof populated;
  return {
    page: keysetPage(list, [...populated, ...extra], options.limit, (p) =>
      toPostView(p as PostWithAuthor),
    ),
    user: stand?.author ?? null,
  };
}

/**
 * A user's posts through the tutorial's `user.posts` (the virtual populate on the user): the user
 * in one command, its page of posts in one more; the author of each is that user.
 */
export async function findUserPostPage(
  db: Database,
  userId: string,
  options: PageRequest,
): Promise<Page<PostView>> {
  const list = postLists.byAuthor(userId);
  const page = keysetQuery(list, options);
  const user = await db.User.findById(userId, AUTHOR_FIELDS)
    .read(db.listReads.readPreference) // populate's query inherits it
    .populate<{ posts: PostRecord[] }>({
      path: 'posts',
      select: POST_FIELDS,
      match: page.filter,
      options: { sort: page.sort, limit: page.limit },
    })
    .lean();
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  const author = { _id: user._id, username: user.username };
  return keysetPage(list, user.posts, options.limit, (post) => toPostView({ ...post, author }));
}

/** A tag's posts, newest first, with authors: one query on the multikey index plus populate. */
export function findTagPostPage(
  db: Database,
  name: string,
  options: PageRequest,
): Promise<Page<PostView>> {
  return findPostPage(db, postLists.byTag(name), { tags: name }, options);
}

/** A post and its author: `findById(...).populate('author', 'username')`, two commands. */
export async function findPostView(db: Database, postId: string): Promise<PostView> {
  const post = await db.Post.findById(postId, POST_FIELDS)
    .populate<{ author: Author | null }>('author', AUTHOR_FIELDS)
    .lean();
  if (!post) throw new AppError('post-not-found', 'No post with that id');
  return toPostView(post);
}

export async function postExists(
  db: Database,
  postId: string,
  session?: ClientSession,
): Promise<boolean> {
  return (await db.Post.exists({ _id: postId }).session(session ?? null)) !== null;
}

/**
 * The tags of an author's post (empty when the author has no such post): one read by _id and
 * author, which targets one shard where posts are sharded by author.
 */
export async function findPostTags(
  db: Database,
  postId: string,
  authorId: string,
): Promise<string[]> {
  const post = await db.Post.findOne({ _id: postId, author: authorId }, { tags: 1 }).lean();
  return post?.tags ?? [];
}

/** How many posts a user has written (one indexed count). */
export function countPostsByAuthor(db: Database, authorId: string): Promise<number> {
  return db.Post.countDocuments({ author: authorId });
}

const DELETE_BATCH = 500;

/**
 * Deletes every post of an author in batches and returns how each tag's count must move (the
 * caller moves them once its transaction, if any, has committed: a counter is never written
 * inside one). `write` learns every tag seen, so that the reconciler leaves them alone until the
 * caller has moved them. A post deleted concurrently by another request moved its own counters:
 * only when every post of a batch was removed here are the batch's moves ours; otherwise nobody
 * can tell which were, and the batch's tags are recorded for repair. Safe to run again after a
 * crash: it continues with whatever posts remain.
 */
export async function deletePostsByAuthor(
  db: Database,
  authorId: string,
  write: TagWrite,
  session?: ClientSession,
): Promise<TagDeltas> {
  const deltas: TagDeltas = new Map();
  for (;;) {
    const batch = await db.Post.find({ author: authorId }, { tags: 1 })
      .limit(DELETE_BATCH)
      .session(session ?? null)
      .lean();
    if (batch.length === 0) return deltas;
    const batchDeltas: TagDeltas = new Map();
    for (const post of batch) tagDeltas(post.tags ?? [], [], batchDeltas);
    write.add(batchDeltas.keys());
    const { deletedCount } = await db.Post.deleteMany(
      { _id: trusted({ $in: batch.map((p) => p._id) }), author: authorId },
      { session },
    );
    if (deletedCount === 0) return deltas;
    if (deletedCount === batch.length) {
      for (const [name, n] of batchDeltas) deltas.set(name, (deltas.get(name) ?? 0) + n);
    } else {
      await recordTagRepairs(db, [...batchDeltas.keys()]);
    }
  }
}
