import { type ClientSession, trusted } from 'mongoose';
import { bulkWriteInChunks } from '../db/bulk-write.ts';
import type { Database } from '../db/connection.ts';
import { isUnavailableError } from '../db/errors.ts';

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
 * Moves postCounts with atomic $inc. A tag's first use upserts it. Two first uses racing on the
 * unique name make one upsert fail with a duplicate key (MongoDB 4.2+ retries such an upsert on
 * the server itself; not every engine does): outside a transaction only those operations run again;
 * inside one the error aborts the transaction and src/db/transactions.ts reruns all of it.
 * Any other error is thrown, with the counts as they are (see withTagCounts).
 *
 * A decrement applies only while the count can take it ({postCount: {$gte: n}}), so a count
 * never goes below zero, even on an engine that loses concurrent updates (a lost update writes
 * a value computed from a read that passed the same filter). When one did not apply, the count
 * had drifted below the truth: those tags are recounted from the posts.
 */
export async function applyTagDeltas(
  db: Database,
  deltas: TagDeltas,
  session?: ClientSession,
): Promise<void> {
  const moves = [...deltas].filter(([, n]) => n !== 0);
  const ops = moves.map(([name, n]) => ({
    updateOne:
      n > 0
        ? { filter: { name }, update: { $inc: { postCount: n } }, upsert: true }
        : {
            filter: { name, postCount: trusted({ $gte: -n }) },
            update: { $inc: { postCount: n } },
          },
  }));
  const { matched, upserted } = await bulkWriteInChunks(db, db.Tag, ops, {
    session,
    duplicateKeyRetries: 3,
  });
  if (matched + upserted < ops.length) {
    await recountTags(
      db,
      moves.filter(([, n]) => n < 0).map(([name]) => name),
      session,
    );
  }
}

/**
 * Sets the postCount of `names` to the number of posts that carry each (the posts are the
 * source of truth). Used where a counter write failed outside a transaction: its $inc may have
 * been applied or not (a lost reply looks like a lost request), so running it again could count
 * twice, while a recount is right either way. A write of the same tags by another request
 * between the count and the $set can still be lost; `npm run tags:repair -- --check` sees that.
 */
export async function recountTags(
  db: Database,
  names: readonly string[],
  session?: ClientSession,
): Promise<void> {
  if (names.length === 0) return;
  const counted = await db.Post.aggregate<{ _id: string; n: number }>([
    { $match: { tags: { $in: [...names] } } },
    { $unwind: '$tags' },
    { $match: { tags: { $in: [...names] } } },
    { $group: { _id: '$tags', n: { $sum: 1 } } },
  ]).session(session ?? null);
  const actual = new Map(counted.map((row) => [row._id, row.n]));
  const ops = names.map((name) => ({
    updateOne: {
      filter: { name },
      update: { $set: { postCount: actual.get(name) ?? 0 } },
      upsert: actual.has(name),
    },
  }));
  await bulkWriteInChunks(db, db.Tag, ops, { session, duplicateKeyRetries: 3 });
}

/**
 * Runs a post write and the counter moves it implies (`write` returns the deltas). In a
 * transaction both commit or neither does. Without one, when the counter write fails, the
 * affected tags are recounted from the posts: when that succeeds the request has done all it
 * was asked; when it fails too, the error is thrown (the request fails) and the counts stay off
 * until `npm run tags:repair`. When the post write itself fails, its outcome may be unknown (a
 * lost reply looks like a lost request): the tags named up front (`touches`) are recounted
 * before the error is thrown.
 */
export async function withTagCounts<T>(
  db: Database,
  session: ClientSession | undefined,
  write: () => Promise<{ result: T; deltas: TagDeltas }>,
  touches: readonly string[] = [],
): Promise<T> {
  let written: { result: T; deltas: TagDeltas };
  try {
    written = await write();
  } catch (error) {
    if (!session && touches.length > 0 && isUnavailableError(error)) {
      await recountTags(db, touches).catch(() => {});
    }
    throw error;
  }
  try {
    await applyTagDeltas(db, written.deltas, session);
  } catch (error) {
    if (session) throw error;
    try {
      await recountTags(db, [...written.deltas.keys()]);
    } catch {
      throw error;
    }
  }
  return written.result;
}
