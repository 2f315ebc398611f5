import { createHash } from 'node:crypto';
import {
  type ClientRateLimitInfo,
  MemoryStore,
  type Options,
  type Store,
} from 'express-rate-limit';
import type { Collection } from 'mongodb';
import type { Database } from '../db/connection.ts';
import { isDuplicateKeyError, isUnavailableError } from '../db/errors.ts';

export const RATE_LIMIT_COLLECTION = 'rate_limits';

interface WindowCounter {
  _id: string;
  hits: number;
  /** End of the window; the document is garbage from then on. */
  expiresAt: Date;
}

export interface MongoStoreOptions {
  /** Separates the counters of several limiters in the one collection. */
  prefix: string;
  onError?: (error: unknown, message: string) => void;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * express-rate-limit counters shared by every API instance on the same database: one document
 * per client key and fixed window, `{_id: "<prefix><hash(key)>:<windowStart>", hits}`, bumped
 * with one atomic upsert. Windows are aligned to the clock, so instances agree on them without
 * talking to each other.
 *
 * Cleanup: FerretDB v1 has no TTL indexes, so each instance deletes the counters of past windows
 * itself, at most once per window (an indexed deleteMany on expiresAt); on MongoDB a TTL index on
 * expiresAt does it as well.
 *
 * While the database is unreachable the counters live in memory (per instance), so limits still
 * hold and a rate-limit check never waits for server selection.
 */
export class MongoRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;
  private lastCleanup = 0;
  private readonly fallback = new MemoryStore();
  private readonly now: () => number;

  constructor(
    private readonly db: Database,
    private readonly options: MongoStoreOptions,
  ) {
    this.prefix = options.prefix;
    this.now = options.now ?? Date.now;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.fallback.init(options);
    const ttl = this.db.capabilities.engine === 'mongodb' ? { expireAfterSeconds: 0 } : {};
    this.collection()
      .createIndex({ expiresAt: 1 }, ttl)
      .catch((error) => this.options.onError?.(error, 'rate-limit index not created'));
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    if (!this.online()) return this.fallback.get(key);
    const { id, resetTime } = this.slot(key);
    const counter = await this.collection().findOne({ _id: id });
    return counter ? { totalHits: counter.hits, resetTime } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (!this.online()) return this.fallback.increment(key);
    const { id, resetTime } = this.slot(key);
    this.cleanUp();
    try {
      return { totalHits: await this.bump(id, resetTime), resetTime };
    } catch (error) {
      if (!isUnavailableError(error)) throw error;
      return this.fallback.increment(key);
    }
  }

  async decrement(key: string): Promise<void> {
    if (!this.online()) return this.fallback.decrement(key);
    await this.collection().updateOne(
      { _id: this.slot(key).id, hits: { $gt: 0 } },
      { $inc: { hits: -1 } },
    );
  }

  async resetKey(key: string): Promise<void> {
    this.fallback.resetKey(key);
    await this.collection().deleteMany({
      _id: { $regex: `^${escapeRegex(this.hashedKey(key))}:` },
    });
  }

  async resetAll(): Promise<void> {
    this.fallback.resetAll();
    await this.collection().deleteMany({ _id: { $regex: `^${escapeRegex(this.prefix)}` } });
  }

  shutdown(): void {
    this.fallback.shutdown();
  }

  private async bump(id: string, resetTime: Date): Promise<number> {
    const update = { $inc: { hits: 1 }, $setOnInsert: { expiresAt: resetTime } };
    const options = { upsert: true, returnDocument: 'after' } as const;
    try {
      const counter = await this.collection().findOneAndUpdate({ _id: id }, update, options);
      return counter?.hits ?? 1;
    } catch (error) {
      // Two first hits of a window raced to insert it; the loser's retry finds it.
      if (!isDuplicateKeyError(error)) throw error;
      const counter = await this.collection().findOneAndUpdate({ _id: id }, update, options);
      return counter?.hits ?? 1;
    }
  }

  private cleanUp(): void {
    const now = this.now();
    if (now - this.lastCleanup < this.windowMs) return;
    this.lastCleanup = now;
    this.collection()
      .deleteMany({ expiresAt: { $lte: new Date(now) } })
      .catch((error) => this.options.onError?.(error, 'rate-limit cleanup failed'));
  }

  private slot(key: string): { id: string; resetTime: Date } {
    const windowStart = Math.floor(this.now() / this.windowMs) * this.windowMs;
    return {
      id: `${this.hashedKey(key)}:${windowStart}`,
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

  private collection(): Collection<WindowCounter> {
    return this.db.connection
      .getClient()
      .db(this.db.connection.name)
      .collection(RATE_LIMIT_COLLECTION);
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
