import { resolve } from 'node:path';
import {
  type Collection,
  type Db,
  type Document,
  type IndexDescription,
  MongoServerError,
} from 'mongodb';
import type { Capabilities } from '../db/capabilities.ts';
import { hashFile, readArchivePrelude } from './archive-reader.ts';
import { LOCK_COLLECTIONS } from './bookkeeping.ts';
import { redactSecrets, toolConnectionString } from './connection-string.ts';
import { BackupError } from './errors.ts';
import { type Manifest, manifestPathFor, readManifest } from './manifest.ts';
import { openServer } from './server.ts';
import { locateTool, startTool, withToolConfig } from './tools.ts';

export const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;

export interface RestoreOptions {
  uri: string;
  archivePath: string;
  /** Target database; default: the database the archive was taken from. */
  toDb?: string;
  /** Replace the archive's collections in a database that already holds data. */
  drop?: boolean;
  mongorestorePath?: string;
  serverSelectionTimeoutMS?: number;
}

export interface RestoreResult {
  database: string;
  manifest: Manifest;
  engine: Capabilities['engine'];
  /** FerretDB v1: mongorestore ran with --noIndexRestore and the indexes were built from the archive. */
  indexesBuiltSeparately: boolean;
  /** Collections in the target that the archive does not have (left as they were). */
  otherCollections: string[];
}

/**
 * Checksum against the manifest first, then mongorestore (--stopOnError), then the restored
 * counts and indexes against the manifest: mongorestore can exit 0 after failed inserts.
 */
export async function runRestore(options: RestoreOptions): Promise<RestoreResult> {
  const archivePath = resolve(options.archivePath);
  const manifest = await readManifest(manifestPathFor(archivePath));
  await assertChecksum(archivePath, manifest);
  const target = options.toDb ?? manifest.database;
  if (!DATABASE_NAME.test(target)) {
    throw new BackupError(
      'usage',
      `invalid target database name "${target}" (letters, digits, _ and - only)`,
    );
  }
  const mongorestore = locateTool('mongorestore', { explicitPath: options.mongorestorePath });
  const server = await openServer(options.uri, target, options.serverSelectionTimeoutMS);
  try {
    const db = server.connection.getClient().db(target);
    const populated = await populatedCollections(db);
    if (populated.length > 0 && !options.drop) {
      throw new BackupError(
        'target-not-empty',
        `database ${target} already holds data (${populated.slice(0, 5).join(', ')}): pass --drop to replace the archive's collections`,
      );
    }
    // FerretDB v1 rejects the index specs mongorestore sends (it adds "ns"), so the indexes are
    // built from the archive's own definitions after the data is in.
    const separateIndexes = server.capabilities.engine === 'ferretdb';
    await mongorestoreArchive(mongorestore, options.uri, archivePath, manifest.database, target, {
      drop: options.drop ?? false,
      noIndexRestore: separateIndexes,
    });
    if (separateIndexes) await buildIndexesFromArchive(db, archivePath);
    await assertMatchesManifest(db, manifest);
    const archived = new Set(manifest.collections.map((c) => c.name));
    return {
      database: target,
      manifest,
      engine: server.capabilities.engine,
      indexesBuiltSeparately: separateIndexes,
      otherCollections: (await collectionNames(db)).filter((name) => !archived.has(name)),
    };
  } finally {
    await server.close();
  }
}

export async function assertChecksum(archivePath: string, manifest: Manifest): Promise<void> {
  const { sha256, sizeBytes } = await hashFile(archivePath);
  if (sha256 !== manifest.sha256 || sizeBytes !== manifest.sizeBytes) {
    throw new BackupError(
      'checksum-mismatch',
      `checksum mismatch: ${archivePath} has SHA-256 ${sha256} (${sizeBytes} bytes), the manifest says ${manifest.sha256} (${manifest.sizeBytes} bytes); nothing was restored`,
    );
  }
}

async function collectionNames(db: Db): Promise<string[]> {
  const list = await db.listCollections({}, { nameOnly: true }).toArray();
  return list.map((c) => c.name).filter((name) => !name.startsWith('system.'));
}

async function populatedCollections(db: Db): Promise<string[]> {
  const names = await collectionNames(db);
  const populated: string[] = [];
  for (const name of names) {
    if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) populated.push(name);
  }
  return populated.sort();
}

async function mongorestoreArchive(
  tool: string,
  uri: string,
  archivePath: string,
  from: string,
  to: string,
  flags: { drop: boolean; noIndexRestore: boolean },
): Promise<void> {
  const args = [
    `--archive=${archivePath}`,
    '--gzip',
    `--nsInclude=${from}.*`,
    // Archives written before locks were left out may hold one: it is never brought back.
    ...LOCK_COLLECTIONS.map((name) => `--nsExclude=${from}.${name}`),
    '--stopOnError',
  ];
  if (from !== to) args.push(`--nsFrom=${from}.*`, `--nsTo=${to}.*`);
  if (flags.drop) args.push('--drop');
  if (flags.noIndexRestore) args.push('--noIndexRestore');
  await withToolConfig(toolConnectionString(uri), async (configPath) => {
    const run = startTool(tool, ['--config', configPath, ...args], 'ignore');
    const code = await run.exited;
    if (code !== 0) {
      throw new BackupError(
        'restore-failed',
        `mongorestore exited with ${code}: ${redactSecrets(run.failureLine(), uri)}`,
      );
    }
  });
}

async function buildIndexesFromArchive(db: Db, archivePath: string): Promise<void> {
  const prelude = await readArchivePrelude(archivePath);
  for (const collection of prelude.collections) {
    const specs = collection.indexes
      .filter((index) => index.name !== '_id_')
      .map(
        ({ v: _v, ns: _ns, background: _background, ...spec }: Document) =>
          spec as IndexDescription,
      );
    if (specs.length === 0) continue;
    try {
      await db.collection(collection.name).createIndexes(specs);
    } catch (error) {
      throw new BackupError(
        'restore-failed',
        `data restored but indexes of ${collection.name} could not be built: ${(error as Error).message}`,
      );
    }
  }
}

async function assertMatchesManifest(db: Db, manifest: Manifest): Promise<void> {
  const problems: string[] = [];
  for (const expected of manifest.collections) {
    if (LOCK_COLLECTIONS.includes(expected.name)) continue; // left out of the restore
    const collection = db.collection(expected.name);
    const documents = await collection.countDocuments({});
    if (documents !== expected.documents) {
      problems.push(
        `${expected.name}: ${documents} documents, manifest says ${expected.documents}`,
      );
    }
    const present = new Set((await indexNames(collection)) ?? []);
    // _id_ exists wherever the collection does; an empty collection may not have been created.
    const missing = expected.indexes.filter((name) => name !== '_id_' && !present.has(name));
    if (missing.length > 0)
      problems.push(`${expected.name}: missing indexes ${missing.join(', ')}`);
  }
  if (problems.length > 0) {
    throw new BackupError(
      'restore-mismatch',
      `restored data differs from the manifest: ${problems.join('; ')}`,
    );
  }
}

/** Index names, or undefined when the collection does not exist (an empty one may not). */
async function indexNames(collection: Collection): Promise<string[] | undefined> {
  try {
    return (await collection.listIndexes().toArray()).map((i) => String(i.name));
  } catch (error) {
    if (error instanceof MongoServerError && error.code === 26) return undefined; // NamespaceNotFound
    throw error;
  }
}
