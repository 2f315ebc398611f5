import { trusted } from 'mongoose';
import { bulkWriteInChunks } from '../db/bulk-write.ts';
import type { Database } from '../db/connection.ts';
import type { PostView } from '../posts/schemas.ts';
import { findPostPage, POST_LISTS } from '../posts/service.ts';
import type { Keyset } from '../shared/cursor.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import type { TagView } from './schemas.ts';

const MOST_USED_FIRST: Keyset = {
  kind: 'tags',
  keys: [
    { field: 'postCount', order: -1, type: 'count' },
    { field: 'name', order: 1, type: 'name' },
  ],
};

/** Tags in use, most used first: one indexed read ({postCount: -1, name: 1}). */
export async function listTags(db: Database, options: PageRequest): Promise<Page<TagView>> {
  const page = keysetQuery(MOST_USED_FIRST, options);
  const tags = await db.Tag.find(
    { $and: [{ postCount: trusted({ $gt: 0 }) }, page.filter] },
    { _id: 0, name: 1, postCount: 1 },
  )
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference)
    .lean<TagView[]>();
  return keysetPage(MOST_USED_FIRST, tags, options.limit, ({ name, postCount }) => ({
    name,
    postCount,
  }));
}

/** A tag's posts, newest first, with authors: one query on the multikey index plus populate. */
export function listTagPosts(
  db: Database,
  name: string,
  options: PageRequest,
): Promise<Page<PostView>> {
  return findPostPage(db, POST_LISTS.byTag, { tags: name }, options);
}

export interface TagDrift {
  name: string;
  stored: number;
  actual: number;
}

/**
 * Recomputes every tag's postCount from the posts themselves (the source of truth), fixing any
 * drift a crash between a post write and its counter update left on a server without
 * transactions. With `check`, only reports the drift and writes nothing (for monitoring). Counts
 * changed by writes during the run converge on the next run.
 */
export async function repairTagCounts(
  db: Database,
  options: { check?: boolean } = {},
): Promise<{ tags: number; fixed: number; drift: TagDrift[] }> {
  const actual = new Map<string, number>();
  const grouped = db.Post.aggregate<{ _id: string; n: number }>([
    { $unwind: '$tags' },
    { $group: { _id: '$tags', n: { $sum: 1 } } },
  ]).cursor({ batchSize: 1000 });
  for await (const row of grouped) actual.set(row._id, row.n);

  const drift: TagDrift[] = [];
  for await (const tag of db.Tag.find({}, { name: 1, postCount: 1 })
    .lean()
    .cursor({ batchSize: 1000 })) {
    const count = actual.get(tag.name) ?? 0;
    actual.delete(tag.name);
    if (tag.postCount !== count)
      drift.push({ name: tag.name, stored: tag.postCount, actual: count });
  }
  for (const [name, count] of actual) drift.push({ name, stored: 0, actual: count });
  if (!options.check) {
    await bulkWriteInChunks(
      db,
      db.Tag,
      drift.map(({ name, actual: count }) => ({
        updateOne: { filter: { name }, update: { $set: { postCount: count } }, upsert: true },
      })),
      { duplicateKeyRetries: 3 },
    );
  }
  const tags = await db.Tag.countDocuments({ postCount: trusted({ $gt: 0 }) });
  return { tags, fixed: options.check ? 0 : drift.length, drift };
}
