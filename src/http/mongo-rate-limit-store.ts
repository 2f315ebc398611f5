import { createHash } from 'node:crypto';
import {
  type ClientRateLimitInfo,
  MemoryStore,
  type Options,
  type Store,
} from 'express-rate-limit';
import type { Collection } from 'mongodb';
import type { Capabilities } from '../db/capabilities.ts';
import type { DatabaseConnection } from '../db/connection.ts';
import { isUnavailableError } from '../db/errors.ts';
import {
  insertCounters,
  type RateLimitDocument,
  upsertCounters,
  type WindowCounters,
} from './rate-limit-counters.ts';

export const RATE_LIMIT_COLLECTION = 'rate_limits';

/** How hits are counted: see rate-limit-counters.ts. */
export type Counting = 'upsert' | 'insert';

/** The cheapest counting that is exact on a server with these capabilities. */
export function countingFor({ atomicUpdates, atomicUpserts }: Capabilities): Counting {
  return atomicUpdates && atomicUpserts ? 'upsert' : 'insert';
}

export interface MongoStoreOptions {
  /** Separates the counters of several limiters in the one collection. */
  prefix: string;
  onError?: (error: unknown, message: string) => void;
  /** Clock, for tests. */
  now?: () => number;
  /** Counting strategy; default: from the server's capabilities. */
  counting?: Counting;
}

/**
 * express-rate-limit counters shared by every API instance on the same database. Windows are
 * fixed and aligned to the clock, so instances agree on them without talking to each other.
 * Where the server serializes concurrent updates and racing upserts all count (MongoDB) a window
 * is one upserted `$inc` counter; elsewhere (FerretDB v1: `capabilities.atomicUpdates`,
 * `atomicUpserts`) each hit is an inserted document and the window's hits are counted.
 *
 * Cleanup: FerretDB v1 has no TTL indexes, so each instance deletes the documents of past
 * windows itself, at most once per window (a deleteMany on the indexed expiresAt); on MongoDB a
 * TTL index on expiresAt does it too.
 *
 * While the database is unreachable the counts live in memory (per instance), so limits still
 * hold and a rate-limit check never waits for server selection.
 *
 * Not rate-limiter-flexible's Mongo store: it counts with upserted `$inc`s through the driver,
 * which a server that loses concurrent updates (FerretDB v1: `npm run doctor`) undercounts.
 */
export class MongoRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;
  private cap = 10_000;
  private lastCleanup = 0;
  private readonly fallback = new MemoryStore();
  private readonly now: () => number;
  private readonly counters: WindowCounters;
  private readonly db: DatabaseConnection;
  private readonly options: MongoStoreOptions;

  constructor(db: DatabaseConnection, options: MongoStoreOptions) {
    this.db = db;
    this.options = options;
    this.prefix = options.prefix;
    this.now = options.now ?? Date.now;
    this.counters = this.counterFor(options.counting ?? countingFor(db.capabilities));
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
    // Counting past limit + 1 tells nothing more.
    if (typeof options.limit === 'number') this.cap = options.limit + 1;
    this.fallback.init(options);
    const collection = this.collection();
    const ttl = this.db.capabilities.engine === 'mongodb' ? { expireAfterSeconds: 0 } : {};
    Promise.all([
      collection.createIndex({ expiresAt: 1 }, ttl),
      collection.createIndex({ slot: 1 }),
    ]).catch((error) => this.options.onError?.(error, 'rate-limit indexes not created'));
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    if (!this.online()) return this.fallback.get(key);
    const { slot, resetTime } = this.slot(key);
    const totalHits = await this.counters.count(slot);
    return totalHits > 0 ? { totalHits, resetTime } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (!this.online()) return this.fallback.increment(key);
    const { slot, resetTime } = this.slot(key);
    this.cleanUp();
    try {
      return { totalHits: await this.counters.hit(slot, resetTime), resetTime };
    } catch (error) {
      if (!isUnavailableError(error)) throw error;
      return this.fallback.increment(key);
    }
  }

  async decrement(key: string): Promise<void> {
    if (!this.online()) return this.fallback.decrement(key);
    await this.counters.unhit(this.slot(key).slot);
  }

  async resetKey(key: string): Promise<void> {
    this.fallback.resetKey(key);
    await this.deleteWhereSlotStarts(`${this.hashedKey(key)}:`);
  }

  async resetAll(): Promise<void> {
    this.fallback.resetAll();
    await this.deleteWhereSlotStarts(this.prefix);
  }

  shutdown(): void {
    this.fallback.shutdown();
  }

  private counterFor(counting: Counting): WindowCounters {
    if (counting === 'insert') return insertCounters(this.collection(), () => this.cap);
    return upsertCounters(this.collection());
  }

  private deleteWhereSlotStarts(start: string) {
    const pattern = new RegExp(`^${start.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
    return this.collection().deleteMany({ $or: [{ _id: pattern }, { slot: pattern }] });
  }

  private cleanUp(): void {
    const now = this.now();
    if (now - this.lastCleanup < this.windowMs) return;
    this.lastCleanup = now;
    this.collection()
      .deleteMany({ expiresAt: { $lte: new Date(now) } })
      .catch((error) => this.options.onError?.(error, 'rate-limit cleanup failed'));
  }

  /** The client's document name in the current window, and when that window ends. */
  private slot(key: string): { slot: string; resetTime: Date } {
    const windowStart = Math.floor(this.now() / this.windowMs) * this.windowMs;
    return {
      slot: `${this.hashedKey(key)}:${windowStart}`,
      resetTime: new Date(windowStart + this.windowMs),
    };
  }

  /** Keys are addresses and account names: stored hashed, never in the clear. */
  private hashedKey(key: string): string {
    return this.prefix + createHash('sha256').update(key).digest('base64url').slice(0, 32);
  }

  private online(): boolean {
    return this.db.connection.readyState === 1;
  }

  // The driver's collection, not a model: these counters are the limiter's bookkeeping, not the
  // app's data, and src/http registers no model (models belong to the features above it).
  private collection(): Collection<RateLimitDocument> {
    const { connection } = this.db;
    return connection.getClient().db(connection.name).collection(RATE_LIMIT_COLLECTION);
  }
}
