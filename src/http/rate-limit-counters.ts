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
 * One document per slot, upserted with `$inc`: one command per request. Exact only where
 * concurrent updates of one document are serialized and racing upserts on a new `_id` all count
 * (`capabilities.atomicUpdates` and `atomicUpserts`: MongoDB). Two first hits that still collide
 * on the unique `_id` (the server's documented upsert retry case) are retried once.
 */
export function upsertCounters(collection: Collection<RateLimitDocument>): WindowCounters {
  const upsert = async (slot: string, expiresAt: Date) => {
    const counter = await collection.findOneAndUpdate(
      { _id: slot },
      { $inc: { hits: 1 }, $setOnInsert: { expiresAt } },
      { upsert: true, returnDocument: 'after' },
    );
    return counter?.hits ?? 1;
  };
  return {
    async hit(slot, expiresAt) {
      try {
        return await upsert(slot, expiresAt);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        return upsert(slot, expiresAt);
      }
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
 * concurrent updates of one document (FerretDB v1) or racing upserts, because inserts never collide. The count
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
