import { trusted } from 'mongoose';
import { bulkWriteInChunks } from '../db/bulk-write.ts';
import type { Database } from '../db/connection.ts';
import { setCountIfUnchanged } from './counters.ts';

export interface TagDrift {
  name: string;
  stored: number;
  actual: number;
}

/**
 * Recomputes every tag's postCount from the posts themselves (the source of truth), fixing any
 * drift a crash between a post write and its counter update left on a server without
 * transactions. With `check`, only reports the drift and writes nothing (for monitoring). A
 * count that a post write moved during the run is left as it is (never overwritten with a
 * stale recount); if it is still off, the next run fixes it.
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
  const missing = new Set(actual.keys());
  for (const [name, count] of actual) drift.push({ name, stored: 0, actual: count });
  let fixed = 0;
  if (!options.check) {
    const { matched, upserted } = await bulkWriteInChunks(
      db,
      db.Tag,
      drift.map(({ name, stored, actual: count }) => ({
        updateOne: setCountIfUnchanged(name, missing.has(name) ? undefined : stored, count),
      })),
    );
    fixed = matched + upserted;
  }
  const tags = await db.Tag.countDocuments({ postCount: trusted({ $gt: 0 }) });
  return { tags, fixed, drift };
}
