import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { type Db, type Document, type IndexDescription, MongoServerError } from 'mongodb';
import { isSystemDatabase } from '../config.ts';
import { LOCK_COLLECTIONS } from '../db/bookkeeping-collections.ts';
import type { Capabilities } from '../db/capabilities.ts';
import { redactSecrets } from '../shared/connection-string.ts';
import { type ArchiveSummary, hashFile, inspectArchive } from './archive-reader.ts';
import { BackupError } from './errors.ts';
import { type Manifest, manifestPathFor, readManifest } from './manifest.ts';
import { dropPrefixed, swapIn } from './swap-in.ts';
import { locateTool, openServer, startTool, withToolConfig } from './tools.ts';

const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
/**
 * Collections a restore writes before it swaps them in (`restoring_<hex>_<name>`), and the
 * target's it keeps aside until the swapped-in ones passed their checks (`replaced_<hex>_…`).
 */
const STAGING = /^(restoring|replaced)_[0-9a-f]{8}_/;
const UNCHANGED = '; the target was not changed';

export interface RestoreOptions {
  uri: string;
  archivePath: string;
  /** Target database; default: the database the archive was taken from. */
  toDb?: string;
  /** Replace the archive's collections in a database that already holds data. */
  drop?: boolean;
  mongorestorePath?: string;
  serverSelectionTimeoutMS?: number;
  /**
   * With --drop: announces the restore to the live APIs of the target and resolves once they
   * refuse writes; the returned function ends the hold (scripts/restore.ts wires the migration
   * lock's; src/migrations/write-hold.ts).
   */
  holdWrites?: (db: Db) => Promise<() => Promise<void>>;
}

/**
 * Nothing in the target changes until the whole restore is known to be good: the archive is read
 * to its end and checked against the manifest (size, SHA-256, structure, counts) before any
 * connection; mongorestore then writes into staging collections beside the target's, which are
 * checked against the manifest (mongorestore can exit 0 after failed inserts) and only then
 * swapped in (swap-in.ts: a failure there puts the originals back). With --drop the live APIs
 * refuse writes for the whole run (holdWrites). Any failure drops the staging collections and
 * leaves the target as it was.
 */
export async function runRestore(options: RestoreOptions) {
  const archivePath = resolve(options.archivePath);
  const manifest = await readManifest(manifestPathFor(archivePath));
  const target = options.toDb ?? manifest.database;
  assertTargetName(target);
  const archive = await assertArchiveMatches(archivePath, manifest);
  const mongorestore = locateTool('mongorestore', { explicitPath: options.mongorestorePath });
  const server = await openServer(options.uri, target, options.serverSelectionTimeoutMS);
  try {
    const db = server.connection.getClient().db(target);
    const names = await collectionNames(db);
    const populated: string[] = [];
    for (const name of names.filter((n) => !LOCK_COLLECTIONS.includes(n))) {
      if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) populated.push(name);
    }
    if (populated.length > 0 && !options.drop) {
      throw new BackupError(
        'target-not-empty',
        `database ${target} already holds data (${populated.sort().slice(0, 5).join(', ')}): pass --drop to replace the archive's collections`,
      );
    }
    const { engine } = server.capabilities;
    // Nothing restored yet: a failure to hold the writes leaves the target as it was.
    const hold = options.drop ? options.holdWrites?.(db) : undefined;
    const release = await hold?.catch((error: Error) => {
      const reason = error.message.replace(/; nothing was changed$/, '');
      throw new BackupError('restore-failed', reason + UNCHANGED);
    });
    try {
      await restoreThroughStaging(db, { ...options, archive, manifest, mongorestore, engine });
    } finally {
      await release?.();
    }
    const archived = new Set(manifest.collections.map((c) => c.name));
    const others = (await collectionNames(db)).filter(
      (name) => !archived.has(name) && !LOCK_COLLECTIONS.includes(name),
    );
    // FerretDB v1: mongorestore ran with --noIndexRestore and the indexes came from the archive.
    const indexesBuiltSeparately = engine === 'ferretdb';
    return { database: target, manifest, engine, indexesBuiltSeparately, otherCollections: others };
  } finally {
    await server.close();
  }
}

interface StagedRun extends RestoreOptions {
  archive: ArchiveSummary;
  manifest: Manifest;
  mongorestore: string;
  engine: Capabilities['engine'];
}

/**
 * mongorestore into staging collections, their checks, then the swap (which checks the target
 * again and puts the originals back on any failure). The staging collections go in every case.
 */
async function restoreThroughStaging(db: Db, run: StagedRun): Promise<void> {
  const { manifest } = run;
  const id = randomBytes(4).toString('hex');
  const staging = `restoring_${id}_`;
  // FerretDB v1 rejects the index specs mongorestore sends (it adds "ns"), so the indexes are
  // built from the archive's own definitions after the data is in.
  const separateIndexes = run.engine === 'ferretdb';
  try {
    await mongorestoreArchive(run, db.databaseName, staging, separateIndexes);
    if (separateIndexes) await buildIndexes(db, run.archive, staging);
    await assertMatchesManifest(db, manifest, staging);
    const names = manifest.collections
      .map((c) => c.name)
      .filter((name) => !LOCK_COLLECTIONS.includes(name));
    await swapIn(db, names, { staging, parked: `replaced_${id}_` }, () =>
      assertMatchesManifest(db, manifest, ''),
    );
  } finally {
    await dropPrefixed(db, staging);
  }
}

/** The server's own databases are refused, as the app refuses them for MONGODB_DB. */
function assertTargetName(target: string): void {
  if (!DATABASE_NAME.test(target)) {
    throw new BackupError(
      'usage',
      `invalid target database name "${target}" (letters, digits, _ and - only)`,
    );
  }
  if (isSystemDatabase(target)) {
    throw new BackupError(
      'usage',
      `refusing to restore into ${target}: admin, local and config are the server's own databases; restore into the app's database (--to <db>)`,
    );
  }
}

/**
 * The whole archive against its manifest: size and SHA-256 (a damaged or replaced file), then
 * gzip, structure and documents per collection (an archive cut short whose manifest was
 * rewritten to match it).
 */
async function assertArchiveMatches(path: string, manifest: Manifest): Promise<ArchiveSummary> {
  const { sha256, sizeBytes } = await hashFile(path);
  if (sha256 !== manifest.sha256 || sizeBytes !== manifest.sizeBytes) {
    throw new BackupError(
      'checksum-mismatch',
      `checksum mismatch: ${path} has SHA-256 ${sha256} (${sizeBytes} bytes), the manifest says ${manifest.sha256} (${manifest.sizeBytes} bytes); nothing was restored`,
    );
  }
  const summary = await inspectArchive(path);
  const inArchive = new Map(summary.collections.map((c) => [c.name, c.documents]));
  const problems = manifest.collections
    .filter((c) => inArchive.get(c.name) !== c.documents)
    .map(
      (c) => `${c.name}: ${inArchive.get(c.name) ?? 'no'} documents, manifest says ${c.documents}`,
    );
  if (problems.length > 0) {
    throw new BackupError(
      'corrupt-archive',
      `${path} does not hold what its manifest says (${problems.join('; ')}); nothing was restored`,
    );
  }
  return summary;
}

async function collectionNames(db: Db): Promise<string[]> {
  const list = await db.listCollections({}, { nameOnly: true }).toArray();
  return list
    .map((c) => c.name)
    .filter((name) => !name.startsWith('system.') && !STAGING.test(name));
}

async function mongorestoreArchive(
  run: StagedRun,
  to: string,
  prefix: string,
  noIndexRestore: boolean,
): Promise<void> {
  const from = run.manifest.database;
  const args = [
    `--archive=${run.archivePath}`,
    '--gzip',
    `--nsInclude=${from}.*`,
    // Archives written before locks were left out may hold one: it is never brought back.
    ...LOCK_COLLECTIONS.map((name) => `--nsExclude=${from}.${name}`),
    `--nsFrom=${from}.$coll$`,
    `--nsTo=${to}.${prefix}$coll$`,
    '--stopOnError',
    ...(noIndexRestore ? ['--noIndexRestore'] : []),
  ];
  await withToolConfig(run.uri, async (configPath) => {
    const tool = startTool(run.mongorestore, ['--config', configPath, ...args], 'ignore');
    const code = await tool.exited;
    if (code !== 0) {
      const reason = redactSecrets(tool.failureLine(), run.uri);
      throw new BackupError(
        'restore-failed',
        `mongorestore exited with ${code}: ${reason}${UNCHANGED}`,
      );
    }
  });
}

async function buildIndexes(db: Db, archive: ArchiveSummary, prefix: string): Promise<void> {
  for (const collection of archive.collections) {
    const specs = collection.indexes
      .filter((index) => index.name !== '_id_')
      .map(({ v: _v, ns: _ns, background: _b, ...spec }: Document) => spec as IndexDescription);
    if (specs.length === 0) continue;
    await db
      .collection(prefix + collection.name)
      .createIndexes(specs)
      .catch((error: Error) => {
        const why = `indexes of ${collection.name} could not be built: ${error.message}`;
        throw new BackupError('restore-failed', why + UNCHANGED);
      });
  }
}

async function assertMatchesManifest(db: Db, manifest: Manifest, prefix: string): Promise<void> {
  const problems: string[] = [];
  for (const expected of manifest.collections) {
    if (LOCK_COLLECTIONS.includes(expected.name)) continue; // left out of the restore
    const collection = db.collection(prefix + expected.name);
    const documents = await collection.countDocuments({});
    if (documents !== expected.documents) {
      problems.push(
        `${expected.name}: ${documents} documents, manifest says ${expected.documents}`,
      );
    }
    // An empty collection may not have been created (NamespaceNotFound, 26); _id_ exists wherever
    // the collection does.
    const indexes = await collection
      .listIndexes()
      .toArray()
      .catch((error) => {
        if (error instanceof MongoServerError && error.code === 26) return [];
        throw error;
      });
    const present = new Set(indexes.map((i) => String(i.name)));
    const missing = expected.indexes.filter((name) => name !== '_id_' && !present.has(name));
    if (missing.length > 0)
      problems.push(`${expected.name}: missing indexes ${missing.join(', ')}`);
  }
  if (problems.length > 0) {
    throw new BackupError(
      'restore-mismatch',
      `restored data differs from the manifest: ${problems.join('; ')}${prefix ? UNCHANGED : ''}`,
    );
  }
}
