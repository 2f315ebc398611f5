import type { AnyBulkWriteOperation } from 'mongodb';
import { type Connection, trusted } from 'mongoose';
import { bulkWriteInChunks } from '../db/bulk-write.ts';
import type { Database } from '../db/connection.ts';

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
 * What this process knows about its own counter writes, per tag: how many post writes that may
 * move the tag's count are under way (from before the post write until its counter move has
 * settled), and a number bumped whenever one begins or ends. The reconciler recounts a tag only
 * while none is under way, and trusts the recount only when none began meanwhile. Also the tags
 * waiting for the reconciler, and how to wake it.
 */
interface CounterState {
  underWay: Map<string, number>;
  generations: Map<string, number>;
  recorded: Set<string>;
  wake: () => void;
}
const states = new WeakMap<Connection, CounterState>();

export function counterStateOf(db: Database): CounterState {
  let state = states.get(db.connection);
  if (!state) {
    state = { underWay: new Map(), generations: new Map(), recorded: new Set(), wake: () => {} };
    states.set(db.connection, state);
  }
  return state;
}

/** A post write that may move some tags' counts, from its start until its counters settled. */
export interface TagWrite {
  /** Adds tags learnt along the way (a batch of posts about to be deleted). */
  add(names: Iterable<string>): void;
  /** The counter moves have settled (or were recorded for repair); call once, in a finally. */
  end(): void;
}

export function beginTagWrite(db: Database, names: Iterable<string> = []): TagWrite {
  const { underWay, generations } = counterStateOf(db);
  const mine = new Set<string>();
  const bump = (name: string, by: number) => {
    generations.set(name, (generations.get(name) ?? 0) + 1);
    const left = (underWay.get(name) ?? 0) + by;
    if (left > 0) underWay.set(name, left);
    else underWay.delete(name);
  };
  const write: TagWrite = {
    add(more) {
      for (const name of more) {
        if (mine.has(name)) continue;
        mine.add(name);
        bump(name, 1);
      }
    },
    end() {
      for (const name of mine) bump(name, -1);
      mine.clear();
    },
  };
  write.add(names);
  return write;
}

/**
 * Moves postCounts with plain `$inc`s, each upserting its tag on first use: moves commute, so
 * the final count is the same in whatever order they arrive (a post's +1 after its deletion's
 * -1 included; a count may stand below zero meanwhile, and lists show only counts above zero).
 * Two first uses racing on the unique name make one upsert fail with a duplicate key, and only
 * those operations run again. A count a decrement left below zero is recorded for the reconciler.
 *
 * Never throws: the post this follows is written and stays written. A counter write that fails
 * (after the driver's own retry of a retryable write) may or may not have been applied (a lost
 * reply looks like a lost request), so its tags are recorded and the reconciler recounts them
 * from the posts, which is right either way (src/tags/reconciler.ts).
 */
export async function moveTagCounts(db: Database, deltas: TagDeltas): Promise<void> {
  const moves = [...deltas].filter(([, n]) => n !== 0);
  if (moves.length === 0) return;
  const ops = moves.map(([name, n]) => ({
    updateOne: { filter: { name }, update: { $inc: { postCount: n } }, upsert: true },
  }));
  try {
    await bulkWriteInChunks(db, db.Tag, ops, { duplicateKeyRetries: 3 });
    const lowered = moves.filter(([, n]) => n < 0).map(([name]) => name);
    if (lowered.length > 0) await recordTagRepairs(db, await belowZero(db, lowered));
  } catch {
    await recordTagRepairs(
      db,
      moves.map(([name]) => name),
    );
  }
}

/**
 * Which of these tags stand below zero: drift (or a +1 still on its way, which the recount then
 * waits for), worth recounting now rather than at the next full check.
 */
async function belowZero(db: Database, names: string[]): Promise<string[]> {
  const tags = await db.Tag.find({ name: trusted({ $in: names }), postCount: trusted({ $lt: 0 }) })
    .select({ name: 1 })
    .lean();
  return tags.map((tag) => tag.name);
}

/**
 * Records tags whose count may be wrong: in the tag_repairs collection (so that a restart or
 * another process finds them) and in this process (so that the reconciler finds them even when
 * the database refused the record too). Wakes the reconciler. Never throws.
 */
export async function recordTagRepairs(db: Database, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const state = counterStateOf(db);
  for (const name of names) state.recorded.add(name);
  const since = new Date();
  await bulkWriteInChunks(
    db,
    db.TagRepair,
    // Keyed by the tag's name (a string _id), which the driver's types do not foresee.
    names.map((name) => ({
      updateOne: { filter: { _id: name }, update: { $set: { since } }, upsert: true },
    })) as unknown as AnyBulkWriteOperation[],
    { duplicateKeyRetries: 3 },
  ).catch(() => {});
  state.wake();
}

/**
 * The write that sets a tag's count to `count`, only if its stored count is still `stored` (as
 * read before the posts were counted; undefined: no tag document). A move of any process that
 * landed meanwhile makes it match nothing: a recount never overwrites an `$inc`.
 */
export function setCountIfUnchanged(name: string, stored: number | undefined, count: number) {
  return stored === undefined
    ? { filter: { name }, update: { $setOnInsert: { postCount: count } }, upsert: true }
    : { filter: { name, postCount: stored }, update: { $set: { postCount: count } } };
}

/**
 * Sets the postCount of `name` to the number of posts that carry it (the posts are the source
 * of truth). True when the count was written (or already right) and can be trusted. False, with
 * nothing written, when a post write of this process that may move the tag was under way or
 * began during the count, or when any process moved the count meanwhile: the caller keeps the
 * tag for another pass.
 */
export async function recountTag(db: Database, name: string): Promise<boolean> {
  const { generations, underWay } = counterStateOf(db);
  const moved = () => underWay.has(name) || (generations.get(name) ?? 0) !== before;
  const before = generations.get(name) ?? 0;
  if (moved()) return false;
  const stored = (await db.Tag.findOne({ name }, { postCount: 1 }).lean())?.postCount;
  const count = await db.Post.countDocuments({ tags: name });
  if (moved()) return false;
  if (stored === count || (stored === undefined && count === 0)) return true;
  const { filter, update, upsert } = setCountIfUnchanged(name, stored, count);
  const result = await db.Tag.updateOne(filter, update, { upsert });
  return stored === undefined ? result.upsertedCount === 1 : result.matchedCount === 1;
}
