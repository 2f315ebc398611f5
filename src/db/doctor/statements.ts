import { MongoBulkWriteError } from 'mongodb';
import { isDuplicateKeyError } from '../errors.ts';
import type { RuleCheck } from './rule.ts';

// Single statements and indexes: what the keyset pages, the unique names and the chunked
// bulk writes (src/db/bulk-write.ts) take for granted.

const uniqueIndex: RuleCheck = {
  rule: 'a unique index refuses a duplicate (code 11000)',
  async run({ db }) {
    const c = db.collection('unique');
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ k: 1 });
    const error = await c.insertOne({ k: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    return {
      kept: isDuplicateKeyError(error),
      seen: error ? String(error) : 'the duplicate was accepted',
    };
  },
  worksAround: () => undefined,
  fix: 'a server with unique indexes (usernames, emails, tag names and follows rely on them)',
};

const ttlIndex: RuleCheck = {
  rule: 'a TTL index is accepted (its expiry, once a minute, is not waited for)',
  async run({ db }) {
    const c = db.collection('ttl');
    const refused = await c.createIndex({ at: 1 }, { expireAfterSeconds: 0 }).then(
      () => undefined,
      (e: unknown) => String(e),
    );
    const index = (await c.indexes().catch(() => [])).find((i) => i.key.at === 1);
    const kept = !refused && index?.expireAfterSeconds === 0;
    return {
      kept,
      seen:
        refused ??
        (kept ? 'listed with expireAfterSeconds 0' : 'listed without expireAfterSeconds'),
    };
  },
  worksAround: (caps) =>
    caps.engine === 'mongodb' ? undefined : 'the rate-limit store deletes past windows itself',
  fix: 'report it: the app expects TTL indexes on a server that says it is MongoDB',
};

const unorderedBulk: RuleCheck = {
  rule: 'an unordered bulk write reports each failed statement and applies the others',
  async run({ db }) {
    const c = db.collection<{ _id: string }>('bulk');
    await c.insertOne({ _id: 'b' });
    const error = await c
      .insertMany([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }], { ordered: false })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const failed = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
    const stored = await c.countDocuments();
    const kept = failed.length === 1 && failed[0]?.index === 1 && stored === 3;
    const seen =
      error instanceof MongoBulkWriteError
        ? `statements reported failed: [${failed.map((f) => f.index)}], documents stored: ${stored} of 3`
        : `not a per-statement error: ${String(error)}`;
    return { kept, seen };
  },
  worksAround: () => undefined,
  fix: 'report it: a chunked write could not tell which statements to run again',
};

const keysetOr: RuleCheck = {
  rule: 'a keyset $or on a compound index returns what a scan returns',
  async run({ db }) {
    const c = db.collection<{ n: number; c: number; name: string }>('keyset');
    await c.createIndex({ c: -1, name: 1 });
    const docs = Array.from({ length: 60 }, (_, n) => ({
      n,
      c: n % 7,
      name: `n${String(n).padStart(3, '0')}`,
    }));
    await c.insertMany(docs);
    // The next page after (c: 3, name: n030), most used first, as GET /api/tags asks for it.
    const filter = { $or: [{ c: { $lt: 3 } }, { c: 3, name: { $gt: 'n030' } }] };
    const got = await c.find(filter).sort({ c: -1, name: 1 }).hint({ c: -1, name: 1 }).toArray();
    const want = docs
      .filter((d) => d.c < 3 || (d.c === 3 && d.name > 'n030'))
      .sort((a, b) => b.c - a.c || a.name.localeCompare(b.name));
    const kept = got.map((d) => d.n).join() === want.map((d) => d.n).join();
    return {
      kept,
      seen: `${got.length} documents through the index, ${want.length} by a scan${kept ? ', in the same order' : ''}`,
    };
  },
  worksAround: () => undefined,
  fix: 'report it: pages of tags (and any keyset page) would skip or repeat items',
};

export const STATEMENTS: readonly RuleCheck[] = [uniqueIndex, ttlIndex, unorderedBulk, keysetOr];
