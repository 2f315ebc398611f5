// npm run bench:sizes: the bench's dataset measured per collection and extrapolated to the scale
// of docs/scaling.md (flags: docs/benchmarks.md).
import { writeFileSync } from 'node:fs';
import { BSON, type Document, type ObjectId } from 'mongodb';
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
    else if (value instanceof Date) bytes += 9;
    else if (typeof value === 'number') bytes += 9;
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

interface Measured {
  collection: string;
  count: number;
  engine: { size: number; storageSize: number; totalIndexSize: number };
  bsonBytes: number;
  indexes: { name: string; entries: number; keyBytes: number }[];
}

async function measure(db: import('mongodb').Db, collection: string): Promise<Measured> {
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
  return {
    collection,
    count,
    engine: {
      size: Number(stats.size),
      storageSize: Number(stats.storageSize),
      totalIndexSize: Number(stats.totalIndexSize),
    },
    bsonBytes,
    indexes: indexes.map(({ name, entries, keyBytes }) => ({ name, entries, keyBytes })),
  };
}

const GB = 1e9;
const gb = (bytes: number) => (bytes / GB).toFixed(bytes < 10 * GB ? 2 : 0);

await runScript('bench:sizes', async (ctx) => {
  const usage = 'usage: npm run bench:sizes -- [--scale 0.1] [--json out.json]';
  const options = { scale: { type: 'string' }, json: { type: 'string' } } as const;
  const { values, number } = parseFlags(process.argv.slice(2), options, usage);
  const scale = number('scale', 0.1, 10, true);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const { db, raw } = await openScratchDatabase('sizes', ctx.onCleanup, { log });
  await seedDataset(raw, scale, log);
  const results: Measured[] = [];
  for (const collection of ['users', 'posts', 'follows', 'tags']) {
    results.push(await measure(raw, collection));
  }
  ctx.out(`engine ${db.capabilities.engine} ${db.capabilities.engineVersion}, scale ${scale}`);
  ctx.out(
    '| collection | documents | BSON bytes/doc | engine size/doc | index entries/doc | KeyString bytes/entry | at target: documents | data (BSON) GB | indexes (KeyString) GB |',
  );
  ctx.out('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of results) {
    const perDoc = m.bsonBytes / m.count;
    const entries = m.indexes.reduce((n, ix) => n + ix.entries, 0);
    const keyBytes = m.indexes.reduce((n, ix) => n + ix.keyBytes, 0);
    const target = TARGET[m.collection] ?? m.count;
    ctx.out(
      `| ${m.collection} | ${m.count} | ${perDoc.toFixed(0)} | ${(m.engine.size / m.count).toFixed(0)} | ${(entries / m.count).toFixed(2)} | ${(keyBytes / entries).toFixed(1)} | ${target.toExponential(0)} | ${gb(perDoc * target)} | ${gb((keyBytes / m.count) * target)} |`,
    );
  }
  for (const m of results) {
    const perIndex = m.indexes
      .map(
        (ix) =>
          `${ix.name} ${(ix.entries / m.count).toFixed(2)} entries/doc × ${(ix.keyBytes / ix.entries).toFixed(1)} B`,
      )
      .join('; ');
    ctx.out(`${m.collection}: ${perIndex}`);
  }
  if (values.json)
    writeFileSync(String(values.json), `${JSON.stringify({ scale, results }, null, 2)}\n`);
  return 0;
});
