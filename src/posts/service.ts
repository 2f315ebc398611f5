import { type ClientSession, type Types, trusted } from 'mongoose';
import type { AuthUser } from '../auth/tokens.ts';
import type { Database } from '../db/connection.ts';
import { toObjectId } from '../db/object-id.ts';
import { inTransactionIfAvailable } from '../db/transactions.ts';
import type { Keyset } from '../shared/cursor.ts';
import { AppError } from '../shared/errors.ts';
import type { Instant } from '../shared/instant.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { applyTagDeltas, recountTags, tagDeltas, withTagCounts } from '../tags/counters.ts';
import { findUserOrThrow, isActiveUser } from '../users/queries.ts';
import { type PostView, postLists } from './schemas.ts';

interface Author {
  _id: Types.ObjectId | string;
  username: string;
}
interface StoredPost {
  _id: Types.ObjectId;
  body: string;
  timestamp: Date;
  tags?: string[];
  author: Author | null;
}

const postFields = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;

function toPostView(post: StoredPost): PostView {
  return {
    id: String(post._id),
    body: post.body,
    timestamp: post.timestamp.toISOString(),
    tags: post.tags ?? [],
    author: post.author ? { id: String(post.author._id), username: post.author.username } : null,
  };
}

/**
 * Where a page's authors come from: one read of the page's authors (the default), an author
 * already read (a user's own posts), or a function given the page's author ids that reads them
 * in one command of its own (the feed, which reads its reader's record in the same command).
 */
export type AuthorSource = Author | ((ids: Types.ObjectId[]) => Promise<Author[]>);

/**
 * The authors of a page in one `find` by their ids, through the driver: the command populate
 * sends, without populate's per-request query building and document assignment (measured by
 * `npm run bench -- --profile`, see docs/benchmarks.md).
 */
function readAuthors(db: Database, ids: Types.ObjectId[]): Promise<Author[]> {
  return db.User.collection
    .find<Author>(
      { _id: { $in: ids } },
      { projection: { username: 1 }, readPreference: db.listReads.readPreference },
    )
    .toArray();
}

/**
 * One page, newest first, with authors: one `find` for the posts and one for their authors
 * (the ids batched), whatever the page size. Every listing of posts goes through here.
 *
 * Through the driver, like the other hot reads: the same `find` Mongoose would send, without
 * its per-request query building and casting (docs/benchmarks.md). So `filter` is given in
 * stored types (ObjectIds, Dates), built by the callers from validated input, never from a
 * client's object: nothing here sanitises operators.
 */
export async function findPostPage(
  db: Database,
  list: Keyset,
  filter: Record<string, unknown>,
  options: PageRequest,
  authors?: AuthorSource,
): Promise<Page<PostView>> {
  const keyset = keysetQuery(list, options);
  const stored = await db.Post.collection
    .find<Omit<StoredPost, 'author'> & { author: Types.ObjectId }>(
      { $and: [filter, keyset.filter] },
      {
        projection: postFields,
        sort: keyset.sort,
        limit: keyset.limit,
        readPreference: db.listReads.readPreference,
      },
    )
    .toArray();
  let posts: StoredPost[];
  authors ??= (ids) => readAuthors(db, ids);
  if (typeof authors === 'function') {
    const page = stored.slice(0, options.limit); // the extra post only tells whether a next page exists
    const ids = [...new Map(page.map((p) => [String(p.author), p.author])).values()];
    const byId = new Map((await authors(ids)).map((a) => [String(a._id), a]));
    posts = stored.map((p) => ({ ...p, author: byId.get(String(p.author)) ?? null }));
  } else {
    const known = authors;
    posts = stored.map((p) => ({ ...p, author: known }));
  }
  return keysetPage(list, posts, options.limit, toPostView);
}

/** All posts, or an author's, in [since, until): an empty range has an empty answer. */
export function listPosts(
  db: Database,
  options: PageRequest & { author?: string; since?: Instant; until?: Instant },
): Promise<Page<PostView>> {
  const filter: Record<string, unknown> = {};
  if (options.author) filter.author = toObjectId(options.author, 'author');
  if (options.since || options.until) {
    filter.timestamp = {
      ...(options.since ? { $gte: options.since.ms } : {}),
      ...(options.until ? { $lt: options.until.ms } : {}),
    };
  }
  return findPostPage(db, postLists.all(options), filter, options);
}

/** A user's posts; the author is read once up front, so no second read is needed. */
export async function listUserPosts(
  db: Database,
  userId: string,
  options: PageRequest,
): Promise<Page<PostView>> {
  const author = await findUserOrThrow(db, userId);
  const list = postLists.byAuthor(String(author._id));
  return findPostPage(db, list, { author: author._id }, options, author);
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

/**
 * A post and its author: two reads by _id. Not populate, which asks for {_id: {$in: [id]}}: the
 * same plan on MongoDB, but an equality on _id is the one filter every engine we run on serves
 * from its storage's key; one of them scans every user for $in (measured by npm run bench, see
 * docs/benchmarks.md). Through the driver: the same two commands findById sends, at a fraction
 * of the CPU (the id is validated by the route, so there is nothing for Mongoose to cast).
 */
export async function getPost(db: Database, postId: string): Promise<PostView> {
  const post = await db.Post.collection.findOne<
    Omit<StoredPost, 'author'> & { author: Types.ObjectId }
  >({ _id: toObjectId(postId) }, { projection: postFields });
  if (!post) throw new AppError('post-not-found', 'No post with that id');
  const author = await db.User.collection.findOne<Author>(
    { _id: post.author },
    { projection: { username: 1 } },
  );
  return toPostView({ ...post, author });
}

/** Tells "no such post" from "not yours" after a write that matched nothing. */
async function explainMiss(db: Database, postId: string, session?: ClientSession): Promise<never> {
  const exists = await db.Post.exists({ _id: postId }).session(session ?? null);
  if (exists) throw new AppError('forbidden', 'Only the author can change this post');
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
        ).lean<StoredPost>();
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
      ).lean<StoredPost>();
      if (!deleted) return explainMiss(db, postId, session);
      return { result: undefined, deltas: tagDeltas(deleted.tags ?? [], []) };
    }),
  );
}

const DELETE_BATCH = 500;

/**
 * Deletes every post of an author in batches, moving tag counters by what each batch really
 * removed. Safe to run again after a crash: it continues with whatever posts remain.
 */
export async function deletePostsByAuthor(
  db: Database,
  authorId: string,
  session?: ClientSession,
): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = await db.Post.find({ author: authorId }, { tags: 1 })
      .limit(DELETE_BATCH)
      .session(session ?? null)
      .lean<{ _id: Types.ObjectId; tags?: string[] }[]>();
    if (batch.length === 0) return total;
    const { deletedCount } = await db.Post.deleteMany(
      { _id: trusted({ $in: batch.map((p) => p._id) }), author: authorId },
      { session },
    );
    if (deletedCount === 0) return total;
    const deltas = new Map<string, number>();
    for (const post of batch) tagDeltas(post.tags ?? [], [], deltas);
    // A post deleted concurrently by another request moved its own counters: only when every
    // post of the batch was removed here are the batch's moves ours; otherwise nobody can tell
    // which were, and the batch's tags are recounted.
    if (deletedCount === batch.length) await applyTagDeltas(db, deltas, session);
    else await recountTags(db, [...deltas.keys()], session);
    total += deletedCount;
  }
}
