import { type Collection, ObjectId } from 'mongodb';
import { isDuplicateKeyError } from '../db/errors.ts';

/**
 * How hits of one client in one fixed window are counted in MongoDB. `slot` names the client and
 * the window; `expiresAt` is the window's end, after which the documents are garbage.
 */
export interface WindowCounters {
  /** Records a hit and returns the hits of the slot so far. */
  hit(slot: string, expiresAt: Date): Promise<number>;
  count(slot: string): Promise<number>;
  /** Takes one hit back (express-rate-limit's skipSuccessfulRequests). */
  unhit(slot: string): Promise<void>;
}

/** A window counter (`_id` is the slot) or one hit (`slot` names the window). */
export interface RateLimitDocument {
  _id: string | ObjectId;
  slot?: string;
  hits?: number;
  /** End of the window; garbage from then on. */
  expiresAt: Date;
}

/**
 * One document per slot, bumped with `$inc`: one command per request. Exact only where
 * concurrent updates of one document are serialized (`capabilities.atomicUpdates`). The first
 * hit of a window creates the document: with an upsert where racing upserts on a new `_id` all
 * count (`capabilities.atomicUpserts`, MongoDB); elsewhere by `$inc` of an existing document,
 * else an insert, which the unique `_id` lets only one racer win, the others then `$inc` what it
 * inserted (two or three commands, once per slot).
 */
export function incrementCounters(
  collection: Collection<RateLimitDocument>,
  { upserts }: { upserts: boolean },
): WindowCounters {
  const bump = async (slot: string, upsertExpiresAt?: Date) => {
    const counter = await collection.findOneAndUpdate(
      { _id: slot },
      upsertExpiresAt
        ? { $inc: { hits: 1 }, $setOnInsert: { expiresAt: upsertExpiresAt } }
        : { $inc: { hits: 1 } },
      { upsert: upsertExpiresAt !== undefined, returnDocument: 'after' },
    );
    return counter?.hits;
  };
  const retryOnDuplicate = async (first: () => Promise<number>, then: () => Promise<number>) => {
    try {
      return await first();
    } catch (error) {
      // Two first hits of a window raced to insert it; the loser's retry finds it.
      if (!isDuplicateKeyError(error)) throw error;
      return then();
    }
  };
  return {
    async hit(slot, expiresAt) {
      if (upserts) {
        const upsert = async () => (await bump(slot, expiresAt)) ?? 1;
        return retryOnDuplicate(upsert, upsert);
      }
      const existing = await bump(slot);
      if (existing !== undefined) return existing;
      return retryOnDuplicate(
        async () => {
          await collection.insertOne({ _id: slot, hits: 1, expiresAt });
          return 1;
        },
        async () => (await bump(slot)) ?? 1,
      );
    },
    async count(slot) {
      return (await collection.findOne({ _id: slot }))?.hits ?? 0;
    },
    async unhit(slot) {
      await collection.updateOne({ _id: slot, hits: { $gt: 0 } }, { $inc: { hits: -1 } });
    },
  };
}

/**
 * One inserted document per hit, counted: two commands per request, exact on servers that lose
 * concurrent updates of one document (FerretDB v1), because inserts never collide. The count
 * stops at `cap` so that a flood does not make every check slower.
 */
export function insertCounters(
  collection: Collection<RateLimitDocument>,
  cap: () => number,
): WindowCounters {
  const count = (slot: string) => collection.countDocuments({ slot }, { limit: cap() });
  return {
    async hit(slot, expiresAt) {
      await collection.insertOne({ _id: new ObjectId(), slot, expiresAt });
      return count(slot);
    },
    count,
    async unhit(slot) {
      await collection.deleteOne({ slot });
    },
  };
}
