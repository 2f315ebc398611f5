import { trusted } from 'mongoose';
import { bulkWriteInChunks } from '../db/bulk-write.ts';
import type { Database } from '../db/connection.ts';
import { type PostView, postLists } from '../posts/schemas.ts';
import { findPostPage } from '../posts/service.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { TAG_LISTS, type TagView } from './schemas.ts';

/**
 * Tags in use, most used first (index {postCount: -1, name: 1}) or by name (the unique index
 * on name): one indexed read either way.
 */
export async function listTags(
  db: Database,
  options: PageRequest & { sort: keyof typeof TAG_LISTS },
): Promise<Page<TagView>> {
  const list = TAG_LISTS[options.sort];
  const page = keysetQuery(list, options);
  const tags = await db.Tag.find(
    { $and: [{ postCount: trusted({ $gt: 0 }) }, page.filter] },
    { _id: 0, name: 1, postCount: 1 },
  )
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference)
    .lean<TagView[]>();
  return keysetPage(list, tags, options.limit, ({ name, postCount }) => ({ name, postCount }));
}

/** A tag's posts, newest first, with authors: one query on the multikey index plus populate. */
export function listTagPosts(
  db: Database,
  name: string,
  options: PageRequest,
): Promise<Page<PostView>> {
  return findPostPage(db, postLists.byTag(name), { tags: name }, options);
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
