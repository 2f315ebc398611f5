import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Db } from 'mongodb';
import { BackupError } from './errors.ts';
import { listBackups, type Manifest, manifestPathFor, readManifest } from './manifest.ts';
import { runRestore } from './restore.ts';
import { openServer } from './server.ts';

export interface VerifyOptions {
  uri: string;
  /** Archive to check; default: the newest good backup of `database` in `dir`. */
  archivePath?: string;
  dir: string;
  database?: string;
  /** Scratch database name; default "<source>_verify_<random>". */
  scratchDb?: string;
  mongorestorePath?: string;
  serverSelectionTimeoutMS?: number;
}

export interface VerifyResult {
  archivePath: string;
  scratchDb: string;
  manifest: Manifest;
  documents: number;
  durationMs: number;
}

/**
 * Restores an archive into a scratch database, checks it against the manifest (checksum,
 * counts, indexes, migrations) and drops the scratch database, whether the check passed or not.
 */
export async function runVerify(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const archivePath = options.archivePath
    ? resolve(options.archivePath)
    : await newestArchive(options);
  const source = await readManifest(manifestPathFor(archivePath));
  const suffix = `_verify_${randomBytes(4).toString('hex')}`;
  const scratchDb = options.scratchDb ?? source.database.slice(0, 63 - suffix.length) + suffix;
  const server = await openServer(options.uri, scratchDb, options.serverSelectionTimeoutMS);
  try {
    const scratch = server.connection.getClient().db(scratchDb);
    // The scratch database is dropped afterwards, so it must be one this run creates.
    if ((await scratch.listCollections({}, { nameOnly: true }).toArray()).length > 0) {
      throw new BackupError(
        'target-not-empty',
        `scratch database ${scratchDb} already exists: choose another name`,
      );
    }
    try {
      const restored = await runRestore({
        uri: options.uri,
        archivePath,
        toDb: scratchDb,
        mongorestorePath: options.mongorestorePath,
        serverSelectionTimeoutMS: options.serverSelectionTimeoutMS,
      });
      await assertMigrations(scratch, restored.manifest);
      return {
        archivePath,
        scratchDb,
        manifest: restored.manifest,
        documents: restored.manifest.collections.reduce((sum, c) => sum + c.documents, 0),
        durationMs: Date.now() - started,
      };
    } finally {
      await scratch.dropDatabase();
    }
  } finally {
    await server.close();
  }
}

async function newestArchive(options: VerifyOptions): Promise<string> {
  const { good } = await listBackups(resolve(options.dir), options.database);
  const newest = good[0];
  if (!newest) {
    const of = options.database ? ` of ${options.database}` : '';
    throw new BackupError('no-backup', `no good backup${of} in ${resolve(options.dir)}`);
  }
  return newest.archivePath;
}

async function assertMigrations(scratch: Db, manifest: Manifest): Promise<void> {
  const restored = await scratch
    .collection(manifest.changelog.collection)
    .find({}, { projection: { _id: 0, fileName: 1 } })
    .toArray();
  const have = restored.map((d) => String(d.fileName)).sort();
  const want = manifest.changelog.migrations.map((m) => m.fileName).sort();
  if (have.join('\n') !== want.join('\n')) {
    throw new BackupError(
      'restore-mismatch',
      `restored migrations (${have.join(', ') || 'none'}) differ from the manifest (${want.join(', ') || 'none'})`,
    );
  }
}
