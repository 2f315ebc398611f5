// The toolkit that migration files import: batched, re-runnable writes and idempotent schema steps.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AnyBulkWriteOperation, Collection, Db, Document, IndexDescription } from 'mongodb';
import { writeStatementLimit } from '../db/engine-limits.js';

export interface BatchProgress {
  label: string;
  done: number;
  total: number;
  written: number;
  elapsedMs: number;
  final: boolean;
}

export interface BatchSettings {
  batchSize: number;
  signal?: AbortSignal;
  onProgress: (progress: BatchProgress) => void;
}

type NamedIndex = IndexDescription & { name: string; key: Record<string, number | string> };

// One store per process even if this file is loaded twice (by the runner and by a migration
// through another loader), so the runner's settings reach every copy.
const SHARED = Symbol.for('microblog.migration-kit');
const holder = globalThis as { [SHARED]?: AsyncLocalStorage<BatchSettings> };
holder[SHARED] ??= new AsyncLocalStorage();
const storage = holder[SHARED];
const defaults: BatchSettings = { batchSize: 1000, onProgress: throttledStderrReporter(2000) };

/** Runs fn (a migration's up or down) with these batch settings. */
export function withBatchSettings<T>(settings: Partial<BatchSettings>, fn: () => Promise<T>) {
  return storage.run({ ...currentBatchSettings(), ...settings }, fn);
}

export function currentBatchSettings(): BatchSettings {
  return storage.getStore() ?? defaults;
}

/**
 * Applies one update to every document matching `filter`: streams their _ids with one cursor and
 * sends, per batch, a single updateMany limited to those _ids that repeats `filter`. A run that
 * was interrupted half-way can be re-run: only the documents still matching are touched.
 */
export function updateInBatches(
  db: Db,
  collectionName: string,
  options: { filter: Document; update: Document; label?: string },
) {
  const collection = db.collection(collectionName);
  return streamInBatches(db, collectionName, options, { _id: 1 }, async (docs) => {
    const filter = { $and: [options.filter, { _id: { $in: docs.map((doc) => doc._id) } }] };
    const result = await collection.bulkWrite([{ updateMany: { filter, update: options.update } }]);
    return result.modifiedCount;
  });
}

/**
 * For writes that differ per document: streams the documents matching `filter` in _id order,
 * asks `toWrite` for at most one write per document, and sends them with bulkWrite per batch.
 * Make each write's filter repeat the selecting condition ({ _id, createdAt: { $exists: false } }),
 * so that a re-run touches only what is left. `into` names another collection the writes go to.
 */
export async function transformInBatches(
  db: Db,
  collectionName: string,
  options: {
    filter: Document;
    projection?: Document;
    label?: string;
    into?: string;
    toWrite: (doc: Document) => AnyBulkWriteOperation | null;
  },
) {
  const collection = db.collection(options.into ?? collectionName);
  // FerretDB holds a connection per statement until the command ends: see src/db/engine-limits.js.
  const perCommand = await writeStatementLimit(db);
  return streamInBatches(db, collectionName, options, options.projection ?? {}, async (docs) => {
    const writes = docs.flatMap((doc) => options.toWrite(doc) ?? []);
    let written = 0;
    for (let i = 0; i < writes.length; i += perCommand) {
      const batch = writes.slice(i, i + perCommand);
      const result = await collection.bulkWrite(batch, { ordered: false });
      written +=
        result.modifiedCount + result.deletedCount + result.insertedCount + result.upsertedCount;
    }
    return written;
  });
}

/**
 * The shared loop: one cursor in _id order (an _id never changes, so no document is seen twice
 * while the batches rewrite the collection), at most `batchSize` documents in memory, progress
 * after each batch, and the abort signal checked before each write.
 */
async function streamInBatches(
  db: Db,
  collectionName: string,
  options: { filter: Document; label?: string },
  projection: Document,
  writeBatch: (docs: Document[]) => Promise<number>,
) {
  const settings = currentBatchSettings();
  settings.signal?.throwIfAborted();
  const collection = db.collection(collectionName);
  const label = options.label ?? collectionName;
  const started = Date.now();
  const total = await collection.countDocuments(options.filter);
  let done = 0;
  let written = 0;
  const report = (final: boolean) =>
    settings.onProgress({ label, done, total, written, elapsedMs: Date.now() - started, final });
  let batch: Document[] = [];
  const flush = async () => {
    settings.signal?.throwIfAborted();
    written += await writeBatch(batch);
    done += batch.length;
    batch = [];
    report(false);
  };
  const cursor = collection.find(options.filter, {
    projection,
    sort: { _id: 1 },
    batchSize: settings.batchSize,
  });
  try {
    for await (const doc of cursor) {
      batch.push(doc);
      if (batch.length >= settings.batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    await cursor.close();
  }
  report(true);
  return { seen: done, written };
}

const codeOf = (error: unknown) => (error as { code?: number }).code;

async function collectionExists(db: Db, name: string): Promise<boolean> {
  return (await db.listCollections({ name }, { nameOnly: true }).toArray()).length > 0;
}

/** Creates an empty collection unless it exists (a re-run must not fail). */
export async function ensureCollection(db: Db, name: string) {
  if (await collectionExists(db, name)) return;
  await db.createCollection(name).catch((error) => {
    if (codeOf(error) !== 48) throw error; // created meanwhile
  });
}

/**
 * Creates the named indexes that do not exist yet, so that a re-run is a no-op, and fails when an
 * index of that name exists with other keys or uniqueness. (It also sidesteps a FerretDB v1.24
 * panic: createIndexes listing two or more indexes that all exist drops the connection.)
 */
export async function ensureIndexes(
  db: Db,
  collectionName: string,
  indexes: (IndexDescription & { name: string })[],
) {
  const collection = db.collection(collectionName);
  const existing = await collection
    .listIndexes()
    .toArray()
    .catch((error) => {
      if (codeOf(error) !== 26) throw error; // no collection yet
      return [];
    });
  const missing = indexes.filter((index) => {
    const found = existing.find((e) => e.name === index.name);
    if (!found) return true;
    const same =
      JSON.stringify(found.key) === JSON.stringify(index.key) &&
      Boolean(found.unique) === Boolean(index.unique);
    if (same) return false;
    throw new Error(
      `index ${collectionName}.${index.name} exists as ${JSON.stringify(found.key)}` +
        `${found.unique ? ' unique' : ''}; drop it or give the new one another name`,
    );
  });
  if (missing.length > 0) await collection.createIndexes(missing);
}

/** Drops a collection if it exists. */
export async function dropCollectionIfExists(db: Db, name: string) {
  if (await collectionExists(db, name)) await db.collection(name).drop();
}

/** Drops an index by name if it (and its collection) exist. */
export async function dropIndexIfExists(db: Db, collectionName: string, indexName: string) {
  await db
    .collection(collectionName)
    .dropIndex(indexName)
    .catch((error) => {
      if (codeOf(error) !== 27 && codeOf(error) !== 26) throw error; // IndexNotFound, NamespaceNotFound
    });
}

const stderrLine = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

/** Prints `label: done/total (pct) rate` to stderr at most every intervalMs, and the final line. */
export function throttledStderrReporter(intervalMs: number) {
  let last = 0;
  return (p: BatchProgress) => {
    if (p.total === 0 && p.done === 0) return; // nothing to reshape: no noise
    const now = Date.now();
    if (!p.final && now - last < intervalMs) return;
    last = now;
    const pct = p.total > 0 ? Math.min(100, Math.round((p.done / p.total) * 100)) : 100;
    const rate = p.elapsedMs > 0 ? Math.round((p.done * 1000) / p.elapsedMs) : p.done;
    stderrLine(
      `${p.label}: ${p.done}/${p.total} (${pct}%), ${rate} docs/s${p.final ? ', done' : ''}`,
    );
  };
}

/**
 * Replaces index `from` by `to` (the same name with other keys or options) without a moment
 * where a unique constraint is missing while writes run: a guard with the same fields in the
 * opposite directions (a different key pattern, so the server accepts it beside the others,
 * enforcing the same uniqueness) is built first and dropped last. When only `to` is unique, the
 * guard also checks the data before anything is dropped. Safe to re-run.
 */
export async function replaceIndex(db: Db, name: string, from: NamedIndex, to: NamedIndex) {
  const collection = db.collection(name);
  const existing = await collection.listIndexes().toArray();
  const guardName = `${from.name}_guard`;
  const current = existing.find((index) => index.name === to.name);
  let guarded = existing.some((index) => index.name === guardName);
  if (!(current && sameIndex(current, to))) {
    // Guard the old constraint while it is replaced; a new one (none before) is guarded from the
    // start, so that duplicates written meanwhile cannot make its build fail half-way.
    const fromExists = existing.some((index) => index.name === from.name);
    const guard = from.unique && fromExists ? from : to.unique ? to : undefined;
    // A guard left by an interrupted run still holds; a second one would clash with its name.
    if (guard && !guarded) guarded = await guardUniqueness(collection, existing, guard, guardName);
    await dropIndexIfExists(db, name, from.name);
    if (current && from.name !== to.name) await dropIndexIfExists(db, name, to.name);
    await collection.createIndexes([to]);
  }
  if (guarded) await dropIndexIfExists(db, name, guardName);
}

/** Builds the guard of `index` (its key reversed); whether it was built. */
async function guardUniqueness(
  collection: Collection,
  existing: Document[],
  index: NamedIndex,
  guardName: string,
): Promise<boolean> {
  const where = `${collection.collectionName}.${index.name}`;
  if (!Object.values(index.key).every((d) => d === 1 || d === -1)) {
    stderrLine(
      `${where}: no guard for a ${JSON.stringify(index.key)} key; uniqueness is not enforced until the new index is built`,
    );
    return false;
  }
  const key = Object.fromEntries(Object.entries(index.key).map(([f, d]) => [f, -Number(d)]));
  const twin = existing.find((found) => JSON.stringify(found.key) === JSON.stringify(key));
  if (twin?.unique) return false; // that index already enforces the same uniqueness
  if (twin) {
    throw new Error(
      `${collection.collectionName}.${twin.name} has the key a uniqueness guard for ${index.name} needs; drop it first`,
    );
  }
  const { name: _name, key: _key, ...options } = index;
  await collection.createIndexes([{ ...options, key, name: guardName }]);
  return true;
}

/** Whether an index as listed by the server is `wanted` (key and the options we set). */
function sameIndex(found: Document, wanted: NamedIndex): boolean {
  const options = [
    'unique',
    'sparse',
    'partialFilterExpression',
    'expireAfterSeconds',
    'collation',
  ];
  const same = (a: unknown, b: unknown) =>
    JSON.stringify(a || undefined) === JSON.stringify(b || undefined);
  return (
    same(found.key, wanted.key) &&
    options.every((o) => same(found[o], wanted[o as keyof NamedIndex]))
  );
}

/**
 * Whether the server takes $jsonSchema validators (collMod). The probe names a collection that
 * does not exist: MongoDB answers NamespaceNotFound (so it has collMod); FerretDB v1 NotImplemented.
 */
export async function probeValidators(db: Db) {
  try {
    await db.command({
      collMod: 'validator_probe_no_such_collection',
      validator: { $jsonSchema: { bsonType: 'object' } },
    });
  } catch (error) {
    const code = codeOf(error);
    // CommandNotFound, CommandNotSupported, NotImplemented
    if (code === 59 || code === 115 || code === 238) {
      const reason = `the server has no collMod validators (${(error as Error).message})`;
      return { supported: false as const, reason };
    }
    if (code !== 26) throw error;
  }
  return { supported: true as const };
}

/**
 * Installs the collection's $jsonSchema validator (null removes it), or, where the server has no
 * validators, prints why it is skipped and goes on: the models still validate every write.
 * Returns whether it was applied.
 */
export async function setValidator(
  db: Db,
  collectionName: string,
  validator: Document | null,
  options: { validationAction?: 'error' | 'warn'; validationLevel?: 'strict' | 'moderate' } = {},
) {
  const probe = await probeValidators(db);
  if (!probe.supported) {
    stderrLine(`${collectionName}: $jsonSchema validator skipped: ${probe.reason}`);
    return false;
  }
  await db.command({
    collMod: collectionName,
    validator: validator ?? {},
    validationLevel: validator ? (options.validationLevel ?? 'strict') : 'strict',
    validationAction: validator ? (options.validationAction ?? 'error') : 'error',
  });
  return true;
}

/**
 * Stands for a step of a generated migration that only its author can write (a type conversion, a
 * value for a new required field): running the migration before it is written fails here.
 */
export function unwrittenStep(description: string): never {
  throw new Error(
    `this migration has a step to write by hand: ${description} (see the TODO in the file)`,
  );
}
