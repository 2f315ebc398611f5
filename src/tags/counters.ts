import { MongoBulkWriteError } from 'mongodb';
import type { ClientSession } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { isDuplicateKeyError } from '../db/errors.ts';

/** How each tag's postCount must move: +n for posts that gained it, -n for posts that lost it. */
export type TagDeltas = Map<string, number>;

/** Lower-cases, trims and de-duplicates tag names, keeping first-seen order. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()))];
}

/** The deltas of replacing `before` with `after` on one post (or of many posts, accumulated). */
export function tagDeltas(
  before: readonly string[],
  after: readonly string[],
  into: TagDeltas = new Map(),
): TagDeltas {
  for (const tag of after) if (!before.includes(tag)) into.set(tag, (into.get(tag) ?? 0) + 1);
  for (const tag of before) if (!after.includes(tag)) into.set(tag, (into.get(tag) ?? 0) - 1);
  return into;
}

/**
 * Moves postCounts with atomic $inc. A tag's first use upserts it; two first uses racing on the
 * unique name make one upsert fail with a duplicate key, and only that operation is retried (the
 * tag exists by then, so the retry is a plain $inc).
 */
export async function applyTagDeltas(
  db: Database,
  deltas: TagDeltas,
  session?: ClientSession,
): Promise<void> {
  const ops = [...deltas]
    .filter(([, n]) => n !== 0)
    .map(([name, n]) => ({
      updateOne: { filter: { name }, update: { $inc: { postCount: n } }, upsert: n > 0 },
    }));
  const size = db.capabilities.maxWriteStatements;
  for (let start = 0; start < ops.length; start += size) {
    await incrementWithRetry(db, ops.slice(start, start + size), session);
  }
}

type IncrementOp = { updateOne: { filter: { name: string }; update: object; upsert: boolean } };

async function incrementWithRetry(
  db: Database,
  batch: IncrementOp[],
  session?: ClientSession,
): Promise<void> {
  let ops = batch;
  for (let attempt = 0; ops.length > 0; attempt += 1) {
    try {
      await db.Tag.bulkWrite(ops, { ordered: false, session });
      return;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = Array.isArray(error.writeErrors)
        ? error.writeErrors
        : [error.writeErrors];
      if (!writeErrors.every((e) => isDuplicateKeyError(e))) throw error;
      // Indexes are positions in this batch: only the upserts that lost the race run again.
      const failed = new Set(writeErrors.map((e) => e.index));
      ops = ops.filter((_, index) => failed.has(index));
    }
  }
}
