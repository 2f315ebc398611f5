import { trusted } from 'mongoose';
import { bulkWriteInChunks } from '../db/bulk-write.ts';
import type { Database } from '../db/connection.ts';

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
