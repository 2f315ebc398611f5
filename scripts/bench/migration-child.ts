import { MongoClient } from 'mongodb';
import { transformInBatches, withBatchSettings } from '../../src/migrations/migration-kit.ts';

/**
 * A data migration over a whole collection, through the kit every migration file uses
 * (transformInBatches: one cursor, bulkWrite batches, FerretDB's statement cap), in a process of
 * its own so that its memory can be measured. The transformation derives `bodyLength` from the
 * body, so it writes every document, and repeats its selecting condition as migrations must.
 */
const uri = process.env.MONGODB_URI;
const dbName = process.env.BENCH_DB;
const collection = process.env.BENCH_COLLECTION ?? 'posts';
const batchSize = Number(process.env.BENCH_BATCH ?? 1000);

async function migrate(): Promise<{ seen: number; written: number }> {
  if (!uri || !dbName) throw new Error('MONGODB_URI and BENCH_DB must be set');
  const client = await MongoClient.connect(uri);
  try {
    const db = client.db(dbName);
    return await withBatchSettings({ batchSize, onProgress: () => {} }, () =>
      transformInBatches(db, collection, {
        label: `${collection}.bodyLength`,
        filter: { bodyLength: { $exists: false } },
        projection: { body: 1 },
        toWrite: (doc) => ({
          updateOne: {
            filter: { _id: doc._id, bodyLength: { $exists: false } },
            update: { $set: { bodyLength: String(doc.body).length } },
          },
        }),
      }),
    );
  } finally {
    await client.close();
  }
}

try {
  const started = performance.now();
  const { seen, written } = await migrate();
  const seconds = (performance.now() - started) / 1000;
  if (written !== seen) throw new Error(`wrote ${written} of ${seen} documents`);
  process.stdout.write(`${JSON.stringify({ docs: seen, seconds })}\n`);
} catch (error) {
  console.error(`migration failed: ${(error as Error).message.split('\n')[0]}`);
  process.exit(1);
}
