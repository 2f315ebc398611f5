// The toolkit that migration files import. Plain ESM JavaScript (type-checked by tsc through JSDoc)
// because the plain `npx migrate-mongo` CLI require()s migration files, and Node does not strip
// types from a file require()d from them in every supported version.
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeStatementLimit } from '../db/engine-limits.js';

/**
 * @typedef {import('mongodb').Db} Db
 * @typedef {import('mongodb').Document} Document
 * @typedef {{ label: string, done: number, total: number, written: number, elapsedMs: number,
 *   final: boolean }} BatchProgress
 * @typedef {{ batchSize: number, signal?: AbortSignal,
 *   onProgress: (progress: BatchProgress) => void }} BatchSettings
 */

/** @type {BatchSettings} */
const initialDefaults = { batchSize: 1000, onProgress: throttledStderrReporter(2000) };

// One store per process even when this file is loaded twice (migrate-mongo require()s migration
// files while the runner import()s them), so settings set by the runner reach every copy.
const SHARED = Symbol.for('microblog.migration-kit');
/** @typedef {{ storage: AsyncLocalStorage<BatchSettings>, defaults: BatchSettings }} SharedState */
const holder = /** @type {Record<symbol, SharedState | undefined>} */ (
  /** @type {unknown} */ (globalThis)
);
holder[SHARED] ??= { storage: new AsyncLocalStorage(), defaults: initialDefaults };
const shared = holder[SHARED];

/** Sets the process-wide defaults (the plain migrate-mongo CLI path has no runner around it). */
export function setBatchDefaults(/** @type {Partial<BatchSettings>} */ settings) {
  shared.defaults = { ...shared.defaults, ...settings };
}

/**
 * Runs fn (a migration's up or down) with these batch settings.
 * @template T
 * @param {Partial<BatchSettings>} settings
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export function withBatchSettings(settings, fn) {
  return shared.storage.run({ ...currentBatchSettings(), ...settings }, fn);
}

/** @returns {BatchSettings} */
export function currentBatchSettings() {
  return shared.storage.getStore() ?? shared.defaults;
}

/**
 * Applies one update to every document matching `filter`: streams their _ids with one cursor and
 * sends, per batch, a single updateMany limited to those _ids that repeats `filter`. A run that
 * was interrupted half-way can be re-run: only the documents still matching are touched.
 * @param {Db} db
 * @param {string} collectionName
 * @param {{ filter: Document, update: Document, label?: string }} options
 * @returns {Promise<{ seen: number, written: number }>}
 */
export function updateInBatches(db, collectionName, options) {
  const collection = db.collection(collectionName);
  return streamInBatches(db, collectionName, options, { _id: 1 }, async (docs) => {
    const ids = docs.map((doc) => doc._id);
    const filter = { $and: [options.filter, { _id: { $in: ids } }] };
    const result = await collection.bulkWrite([{ updateMany: { filter, update: options.update } }]);
    return result.modifiedCount;
  });
}

/**
 * For writes that differ per document: streams the documents matching `filter` in _id order with
 * one cursor, asks `toWrite` for at most one write per document, and sends them with bulkWrite per
 * batch. Make each write's filter repeat the selecting condition ({ _id, createdAt: { $exists:
 * false } }), so that a re-run after an interruption touches only what is left.
 * `into` names another collection the writes go to (moving a field into a collection of its own).
 * @param {Db} db
 * @param {string} collectionName
 * @param {{ filter: Document, projection?: Document, label?: string, into?: string,
 *   toWrite: (doc: Document) => import('mongodb').AnyBulkWriteOperation | null }} options
 * @returns {Promise<{ seen: number, written: number }>}
 */
export async function transformInBatches(db, collectionName, options) {
  const collection = db.collection(options.into ?? collectionName);
  // FerretDB holds a connection per statement until the command ends: see src/db/engine-limits.js.
  const perCommand = await writeStatementLimit(db);
  const projection = options.projection ?? {};
  return streamInBatches(db, collectionName, options, projection, async (docs) => {
    const writes = docs.flatMap((doc) => options.toWrite(doc) ?? []);
    let written = 0;
    for (let i = 0; i < writes.length; i += perCommand) {
      const result = await collection.bulkWrite(writes.slice(i, i + perCommand), {
        ordered: false,
      });
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
 * @param {Db} db
 * @param {string} collectionName
 * @param {{ filter: Document, label?: string }} options
 * @param {Document} projection
 * @param {(docs: Document[]) => Promise<number>} writeBatch
 * @returns {Promise<{ seen: number, written: number }>}
 */
async function streamInBatches(db, collectionName, options, projection, writeBatch) {
  const settings = currentBatchSettings();
  settings.signal?.throwIfAborted();
  const collection = db.collection(collectionName);
  const label = options.label ?? collectionName;
  const started = Date.now();
  const total = await collection.countDocuments(options.filter);
  let done = 0;
  let written = 0;
  /** @param {boolean} final */
  const report = (final) =>
    settings.onProgress({ label, done, total, written, elapsedMs: Date.now() - started, final });
  /** @type {Document[]} */
  let batch = [];
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

/** Creates an empty collection unless it exists (a re-run must not fail). */
export async function ensureCollection(/** @type {Db} */ db, /** @type {string} */ name) {
  const existing = await db.listCollections({ name }, { nameOnly: true }).toArray();
  if (existing.length > 0) return;
  try {
    await db.createCollection(name);
  } catch (error) {
    if (/** @type {{ code?: number }} */ (error).code !== 48) throw error; // created meanwhile
  }
}

/**
 * Creates the named indexes that do not exist yet, so that a re-run is a no-op, and fails when an
 * index of that name exists with other keys or uniqueness. (It also sidesteps a FerretDB v1.24
 * panic: createIndexes listing two or more indexes that all exist drops the connection.)
 * @param {Db} db
 * @param {string} collectionName
 * @param {(import('mongodb').IndexDescription & { name: string })[]} indexes
 */
export async function ensureIndexes(db, collectionName, indexes) {
  const collection = db.collection(collectionName);
  /** @type {Document[]} */
  let existing = [];
  try {
    existing = await collection.listIndexes().toArray();
  } catch (error) {
    if (/** @type {{ code?: number }} */ (error).code !== 26) throw error; // no collection yet
  }
  const byName = new Map(existing.map((index) => [index.name, index]));
  const missing = indexes.filter((index) => {
    const found = byName.get(index.name);
    if (!found) return true;
    const same =
      JSON.stringify(found.key) === JSON.stringify(index.key) &&
      Boolean(found.unique) === Boolean(index.unique);
    if (!same) {
      throw new Error(
        `index ${collectionName}.${index.name} exists as ${JSON.stringify(found.key)}` +
          `${found.unique ? ' unique' : ''}; drop it or give the new one another name`,
      );
    }
    return false;
  });
  if (missing.length > 0) await collection.createIndexes(missing);
}

/** Drops a collection if it exists. */
export async function dropCollectionIfExists(/** @type {Db} */ db, /** @type {string} */ name) {
  const existing = await db.listCollections({ name }, { nameOnly: true }).toArray();
  if (existing.length > 0) await db.collection(name).drop();
}

/** Drops an index by name if it (and its collection) exist. */
export async function dropIndexIfExists(
  /** @type {Db} */ db,
  /** @type {string} */ collectionName,
  /** @type {string} */ indexName,
) {
  try {
    await db.collection(collectionName).dropIndex(indexName);
  } catch (error) {
    const code = /** @type {{ code?: number }} */ (error).code;
    if (code !== 27 && code !== 26) throw error; // IndexNotFound, NamespaceNotFound
  }
}

/**
 * Prints `label: done/total (pct) rate` to stderr at most every intervalMs, and the final line.
 * @param {number} intervalMs
 * @returns {(progress: BatchProgress) => void}
 */
export function throttledStderrReporter(intervalMs) {
  let last = 0;
  return (p) => {
    if (p.total === 0 && p.done === 0) return; // nothing to reshape: no noise
    const now = Date.now();
    if (!p.final && now - last < intervalMs) return;
    last = now;
    const pct = p.total > 0 ? Math.min(100, Math.round((p.done / p.total) * 100)) : 100;
    const rate = p.elapsedMs > 0 ? Math.round((p.done * 1000) / p.elapsedMs) : p.done;
    process.stderr.write(
      `${new Date().toISOString()} ${p.label}: ${p.done}/${p.total} (${pct}%), ${rate} docs/s${p.final ? ', done' : ''}\n`,
    );
  };
}

/**
 * @typedef {import('mongodb').IndexDescription & { name: string, key: Record<string, number | string> }} NamedIndex
 */

/**
 * Replaces index `from` by `to` (the same name with other keys or options) without a moment
 * where a unique constraint is missing while writes run: a guard with the same fields in the
 * opposite directions (a different key pattern, so the server accepts it beside the others,
 * enforcing the same uniqueness) is built first and dropped last. When only `to` is unique, the
 * guard also checks the data before anything is dropped. Safe to re-run.
 * @param {Db} db
 * @param {string} collectionName
 * @param {NamedIndex} from
 * @param {NamedIndex} to
 */
export async function replaceIndex(db, collectionName, from, to) {
  const collection = db.collection(collectionName);
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
    await dropIndexIfExists(db, collectionName, from.name);
    if (current && from.name !== to.name) await dropIndexIfExists(db, collectionName, to.name);
    await collection.createIndexes([to]);
  }
  if (guarded) await dropIndexIfExists(db, collectionName, guardName);
}

/**
 * @param {import('mongodb').Collection} collection
 * @param {Document[]} existing
 * @param {NamedIndex} index
 * @param {string} guardName
 * @returns {Promise<boolean>} whether the guard was built
 */
async function guardUniqueness(collection, existing, index, guardName) {
  const directions = Object.values(index.key);
  if (!directions.every((d) => d === 1 || d === -1)) {
    process.stderr.write(
      `${new Date().toISOString()} ${collection.collectionName}.${index.name}: no guard for a ${JSON.stringify(index.key)} key; uniqueness is not enforced until the new index is built\n`,
    );
    return false;
  }
  const key = Object.fromEntries(Object.entries(index.key).map(([field, d]) => [field, -d]));
  const twin = existing.find((found) => JSON.stringify(found.key) === JSON.stringify(key));
  if (twin?.unique) return false; // that index already enforces the same uniqueness
  if (twin)
    throw new Error(
      `${collection.collectionName}.${twin.name} has the key a uniqueness guard for ${index.name} needs; drop it first`,
    );
  const { name: _name, key: _key, ...options } = index;
  await collection.createIndexes([{ ...options, key, name: guardName }]);
  return true;
}

/**
 * Whether an index as listed by the server is `wanted` (key and the options we set).
 * @param {Document} found
 * @param {NamedIndex} wanted
 */
function sameIndex(found, wanted) {
  const options = /** @type {const} */ ([
    'unique',
    'sparse',
    'partialFilterExpression',
    'expireAfterSeconds',
    'collation',
  ]);
  return (
    JSON.stringify(found.key) === JSON.stringify(wanted.key) &&
    options.every(
      (o) => JSON.stringify(found[o] || undefined) === JSON.stringify(wanted[o] || undefined),
    )
  );
}

/**
 * Whether the server takes $jsonSchema validators (collMod). The probe names a collection that
 * does not exist: MongoDB answers NamespaceNotFound (so it has collMod) and changes nothing;
 * FerretDB v1 answers NotImplemented.
 * @param {Db} db
 * @returns {Promise<{ supported: true } | { supported: false, reason: string }>}
 */
export async function probeValidators(db) {
  try {
    await db.command({
      collMod: 'validator_probe_no_such_collection',
      validator: { $jsonSchema: { bsonType: 'object' } },
    });
    return { supported: true };
  } catch (error) {
    const { code, message } = /** @type {{ code?: number, message: string }} */ (error);
    if (code === 26) return { supported: true };
    // CommandNotFound, CommandNotSupported, NotImplemented
    if (code === 59 || code === 115 || code === 238) {
      return { supported: false, reason: `the server has no collMod validators (${message})` };
    }
    throw error;
  }
}

/**
 * Installs the collection's $jsonSchema validator (null removes it), or, where the server has no
 * validators, prints why it is skipped and goes on: the models still validate every write.
 * @param {Db} db
 * @param {string} collectionName
 * @param {Document | null} validator
 * @param {{ validationAction?: 'error' | 'warn', validationLevel?: 'strict' | 'moderate' }} [options]
 * @returns {Promise<boolean>} whether it was applied
 */
export async function setValidator(db, collectionName, validator, options = {}) {
  const probe = await probeValidators(db);
  if (!probe.supported) {
    process.stderr.write(
      `${new Date().toISOString()} ${collectionName}: $jsonSchema validator skipped: ${probe.reason}\n`,
    );
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
 * @param {string} description
 * @returns {never}
 */
export function unwrittenStep(description) {
  throw new Error(
    `this migration has a step to write by hand: ${description} (see the TODO in the file)`,
  );
}
