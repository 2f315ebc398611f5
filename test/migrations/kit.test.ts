import { type IndexDescription, MongoClient } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import * as template from '../../migrations/sample-migration.js';
import { FERRETDB_MAX_WRITE_STATEMENTS } from '../../src/db/engine-limits.js';
import {
  type BatchProgress,
  ensureIndexes,
  transformInBatches,
  updateInBatches,
  withBatchSettings,
} from '../../src/migrations/migration-kit.ts';
import { indexNames, useMigrationDb } from './helpers.ts';

const DOCS = 450;

type IndexSpec = IndexDescription & { name: string };

describe('the migration kit', { timeout: 120_000 }, () => {
  const t = useMigrationDb('kit');
  beforeEach(async () => {
    await t.db
      .collection('things')
      .insertMany(Array.from({ length: DOCS }, (_, i) => ({ n: i, oldField: `v${i}` })));
  });

  /** Runs fn on a monitored client; returns the documents each find/getMore reply carried. */
  async function watchReads(fn: (db: MongoClient) => Promise<unknown>) {
    const client = await MongoClient.connect(t.uri, { monitorCommands: true });
    const replies: number[] = [];
    const writes: string[] = [];
    client.on('commandSucceeded', (e) => {
      const cursor = (e.reply as { cursor?: { firstBatch: unknown[]; nextBatch: unknown[] } })
        .cursor;
      if (!cursor) return;
      if (e.commandName === 'find') replies.push(cursor.firstBatch.length);
      if (e.commandName === 'getMore') replies.push(cursor.nextBatch.length);
    });
    client.on('commandStarted', (e) => {
      if (e.commandName === 'update') writes.push(e.commandName);
    });
    try {
      await fn(client);
    } finally {
      await client.close();
    }
    return { replies, writes };
  }

  it('updateInBatches streams at most batchSize documents at a time, one update per batch, with progress', async () => {
    const progress: BatchProgress[] = [];

    const { replies, writes } = await watchReads((client) =>
      withBatchSettings({ batchSize: 100, onProgress: (p) => progress.push(p) }, () =>
        updateInBatches(client.db(t.name), 'things', {
          filter: { oldField: { $exists: true } },
          update: { $rename: { oldField: 'newField' } },
        }),
      ),
    );

    expect(Math.max(...replies)).toBeLessThanOrEqual(100);
    expect(replies.reduce((a, b) => a + b, 0)).toBe(DOCS);
    expect(writes).toHaveLength(5);
    expect(progress.map((p) => p.done)).toEqual([100, 200, 300, 400, 450, 450]);
    expect(progress.at(-1)).toMatchObject({ total: DOCS, written: DOCS, final: true });
    expect(await t.db.collection('things').countDocuments({ newField: { $exists: true } })).toBe(
      DOCS,
    );
  });

  it('transformInBatches writes per document, in bulkWrite commands the server can take', async () => {
    const { replies, writes } = await watchReads((client) =>
      withBatchSettings({ batchSize: 150, onProgress: () => {} }, () =>
        transformInBatches(client.db(t.name), 'things', {
          filter: { doubled: { $exists: false } },
          projection: { n: 1 },
          toWrite: (doc) => ({
            updateOne: {
              filter: { _id: doc._id, doubled: { $exists: false } },
              update: { $set: { doubled: doc.n * 2 } },
            },
          }),
        }),
      ),
    );

    expect(Math.max(...replies)).toBeLessThanOrEqual(150);
    // 3 batches of 150; FerretDB v1 hangs on large update commands, so it gets 150/25 each.
    const info = await t.db.command({ buildInfo: 1 });
    const perBatch = Math.ceil(150 / FERRETDB_MAX_WRITE_STATEMENTS);
    expect(writes).toHaveLength(typeof info.ferretdbVersion === 'string' ? 3 * perBatch : 3);
    const docs = await t.db.collection('things').find().toArray();
    expect(docs.filter((d) => d.doubled !== d.n * 2)).toEqual([]);
  });

  it('finishes beside twenty cursors open on the same database', async () => {
    // FerretDB v1 holds a connection per update statement until the command ends, out of 100 per
    // database: 99 statements beside an open cursor never answered, and this run hung with them.
    await t.db.collection('other').insertMany(Array.from({ length: 50 }, (_, i) => ({ i })));
    const cursors = Array.from({ length: 20 }, () =>
      t.db.collection('other').find({}, { batchSize: 2 }),
    );
    try {
      for (const cursor of cursors) await cursor.next();
      const run = withBatchSettings({ batchSize: DOCS, onProgress: () => {} }, () =>
        transformInBatches(t.db, 'things', {
          filter: { tripled: { $exists: false } },
          projection: { n: 1 },
          toWrite: (doc) => ({
            updateOne: {
              filter: { _id: doc._id, tripled: { $exists: false } },
              update: { $set: { tripled: doc.n * 3 } },
            },
          }),
        }),
      );
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        run.then(() => 'done'),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve('no answer within 60 s'), 60_000);
        }),
      ]);
      clearTimeout(timer);
      expect(outcome).toBe('done');
      expect(await t.db.collection('things').countDocuments({ tripled: { $exists: true } })).toBe(
        DOCS,
      );
    } finally {
      await Promise.all(cursors.map((c) => c.close()));
    }
  });

  it('an aborted signal stops before the first write', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stop'));

    const run = withBatchSettings({ signal: abort.signal, onProgress: () => {} }, () =>
      updateInBatches(t.db, 'things', { filter: {}, update: { $set: { touched: true } } }),
    );

    await expect(run).rejects.toThrow('stop');
    expect(await t.db.collection('things').countDocuments({ touched: true })).toBe(0);
  });

  it('ensureIndexes creates what is missing, is a no-op when re-run, and refuses a different index of the same name', async () => {
    const indexes: IndexSpec[] = [
      { key: { n: 1 }, name: 'n_1', unique: true },
      { key: { oldField: 1, n: -1 }, name: 'oldField_1_n_-1' },
    ];

    await ensureIndexes(t.db, 'things', indexes);
    await ensureIndexes(t.db, 'things', indexes);

    expect(await indexNames(t.db, 'things')).toEqual(['_id_', 'n_1', 'oldField_1_n_-1']);
    await expect(
      ensureIndexes(t.db, 'things', [{ key: { n: -1 }, name: 'n_1', unique: true }]),
    ).rejects.toThrow(/index things\.n_1 exists as \{"n":1\} unique/);
  });

  it('the template of `create` runs both ways', async () => {
    const quiet = { onProgress: () => {} };

    await withBatchSettings(quiet, () => template.up(t.db));
    const afterUp = await t.db.collection('things').countDocuments({ newField: { $exists: true } });
    await withBatchSettings(quiet, () => template.down(t.db));

    expect(afterUp).toBe(DOCS);
    expect(await t.db.collection('things').countDocuments({ oldField: { $exists: true } })).toBe(
      DOCS,
    );
  });
});
