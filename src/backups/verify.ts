import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { BackupError } from './errors.ts';
import { listBackups, manifestPathFor, readManifest } from './manifest.ts';
import { runRestore } from './restore.ts';
import { openServer } from './tools.ts';

export interface VerifyOptions {
  uri: string;
  /** Archive to check; default: the newest good backup of `database` in `dir`. */
  archivePath?: string;
  dir: string;
  database: string;
  mongorestorePath?: string;
  serverSelectionTimeoutMS?: number;
}

/**
 * Restores an archive into a scratch database "<source>_verify_<random>", checks it against the
 * manifest (checksum, counts, indexes, migrations) and drops the scratch database, whether the
 * check passed or not.
 */
export async function runVerify(options: VerifyOptions) {
  const started = Date.now();
  const dir = resolve(options.dir);
  const archivePath = options.archivePath
    ? resolve(options.archivePath)
    : (await listBackups(dir, options.database)).good[0]?.archivePath;
  if (!archivePath) {
    throw new BackupError('no-backup', `no good backup of ${options.database} in ${dir}`);
  }
  const source = await readManifest(manifestPathFor(archivePath));
  const suffix = `_verify_${randomBytes(4).toString('hex')}`;
  const scratchDb = source.database.slice(0, 63 - suffix.length) + suffix;
  const server = await openServer(options.uri, scratchDb, options.serverSelectionTimeoutMS);
  const scratch = server.connection.getClient().db(scratchDb);
  try {
    // The scratch database is dropped afterwards, so it must be one this run creates.
    if ((await scratch.listCollections({}, { nameOnly: true }).toArray()).length > 0) {
      throw new BackupError('target-not-empty', `scratch database ${scratchDb} already exists`);
    }
    try {
      const { manifest } = await runRestore({ ...options, archivePath, toDb: scratchDb });
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
      const documents = manifest.collections.reduce((sum, c) => sum + c.documents, 0);
      return { archivePath, scratchDb, manifest, documents, durationMs: Date.now() - started };
    } finally {
      await scratch.dropDatabase();
    }
  } finally {
    await server.close();
  }
}
