// npm run bench:sizes: the bench's dataset measured per collection and extrapolated to the scale
// of docs/scaling.md (flags: docs/benchmarks.md).
import { writeFileSync } from 'node:fs';
import { BSON, type Db, type Document, type ObjectId } from 'mongodb';
import { runScript } from '../../src/cli/script.ts';
import { parseFlags } from './options.ts';
import { openScratchDatabase, seedDataset } from './seed.ts';

/** The scale docs/scaling.md is about; tags grow slower than posts (an assumption, said there). */
const TARGET: Record<string, number> = {
  users: 10_000_000,
  posts: 1_000_000_000,
  follows: 100_000_000,
  tags: 1_000_000,
};

/**
 * Bytes of one index entry in WiredTiger's KeyString form, before its prefix compression: each
 * value with its type byte, plus the RecordId (up to 9 bytes). An upper bound of what an index
 * holds per entry, in cache and (compressed) on disk.
 */
function keyStringBytes(values: unknown[]): number {
  let bytes = 9;
  for (const value of values) {
    if (typeof value === 'string') bytes += Buffer.byteLength(value) + 2;
    else if (value instanceof Date || typeof value === 'number') bytes += 9;
    else if (value && (value as ObjectId)._bsontype === 'ObjectId') bytes += 13;
    else bytes += 2;
  }
  return bytes;
}

/** The entries a document puts in an index: one per element of an array field (multikey). */
function indexEntries(doc: Document, key: Document): unknown[][] {
  const fields = Object.keys(key);
  const values = fields.map((f) => doc[f]);
  const arrayAt = values.findIndex(Array.isArray);
  if (arrayAt < 0) return [values];
  const elements = values[arrayAt] as unknown[];
  // An empty array is indexed too, as one entry (the key `undefined`).
  if (elements.length === 0) return [values.map((v, i) => (i === arrayAt ? undefined : v))];
  return elements.map((element) => values.map((v, i) => (i === arrayAt ? element : v)));
}

/** A collection's documents and index entries, counted and sized one by one, and its collStats. */
async function measure(db: Db, collection: string) {
  const stats = await db.command({ collStats: collection });
  const indexes = (await db.collection(collection).listIndexes().toArray()).map((ix) => ({
    name: String(ix.name),
    key: ix.key as Document,
    entries: 0,
    keyBytes: 0,
  }));
  let count = 0;
  let bsonBytes = 0;
  for await (const doc of db.collection(collection).find()) {
    count += 1;
    bsonBytes += BSON.calculateObjectSize(doc);
    for (const ix of indexes) {
      for (const entry of indexEntries(doc, ix.key)) {
        ix.entries += 1;
        ix.keyBytes += keyStringBytes(entry);
      }
    }
  }
  const engine = {
    size: Number(stats.size),
    storageSize: Number(stats.storageSize),
    totalIndexSize: Number(stats.totalIndexSize),
  };
  return { collection, count, engine, bsonBytes, indexes };
}

const GB = 1e9;
const gb = (bytes: number) => (bytes / GB).toFixed(bytes < 10 * GB ? 2 : 0);
const HEAD =
  'collection | documents | BSON bytes/doc | engine size/doc | index entries/doc | KeyString bytes/entry | at target: documents | data (BSON) GB | indexes (KeyString) GB';

await runScript('bench:sizes', async (ctx) => {
  const usage = 'usage: npm run bench:sizes -- [--scale 0.1] [--json out.json]';
  const { values, number } = parseFlags(process.argv.slice(2), 'scale json', '', usage);
  const scale = number('scale', 0.1, 10, true);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const { db, raw } = await openScratchDatabase('sizes', ctx.onCleanup, { log });
  await seedDataset(raw, scale, log);
  const results = [];
  for (const collection of ['users', 'posts', 'follows', 'tags']) {
    results.push(await measure(raw, collection));
  }
  ctx.out(`engine ${db.capabilities.engine} ${db.capabilities.engineVersion}, scale ${scale}`);
  ctx.out(`| ${HEAD} |\n|${' --- |'.repeat(HEAD.split(' | ').length)}`);
  for (const { collection, count, bsonBytes, engine, indexes } of results) {
    const perDoc = bsonBytes / count;
    const entries = indexes.reduce((n, ix) => n + ix.entries, 0);
    const keyBytes = indexes.reduce((n, ix) => n + ix.keyBytes, 0);
    const target = TARGET[collection] ?? count;
    ctx.out(
      `| ${collection} | ${count} | ${perDoc.toFixed(0)} | ${(engine.size / count).toFixed(0)} | ${(entries / count).toFixed(2)} | ${(keyBytes / entries).toFixed(1)} | ${target.toExponential(0)} | ${gb(perDoc * target)} | ${gb((keyBytes / count) * target)} |`,
    );
  }
  for (const { collection, count, indexes } of results) {
    const perIndex = indexes.map(
      (ix) =>
        `${ix.name} ${(ix.entries / count).toFixed(2)} entries/doc × ${(ix.keyBytes / ix.entries).toFixed(1)} B`,
    );
    ctx.out(`${collection}: ${perIndex.join('; ')}`);
  }
  if (values.json) {
    writeFileSync(String(values.json), `${JSON.stringify({ scale, results }, null, 2)}\n`);
  }
  return 0;
});
