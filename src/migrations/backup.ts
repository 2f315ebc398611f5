import type { Db } from 'mongodb';
import { runBackup } from '../backups/backup.ts';
import { redactSecrets } from '../backups/connection-string.ts';
import type { Config } from '../config.ts';
import { LOCK_COLLECTION } from './settings.ts';

export class BackupBeforeMigratingError extends Error {}

export interface BackupBeforeMigratingOptions {
  db: Db;
  uri: string;
  config: Config;
  /** false: --no-backup or MIGRATION_BACKUP=false. */
  enabled: boolean;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/**
 * The tutorial's rule: never migrate without a backup. Runs `npm run backup`'s backup (same folder,
 * retention and mongodump) unless it was switched off, the database is a test database, or there
 * is nothing to back up. Returns the archive path when one was written.
 */
export async function backupBeforeMigrating(
  options: BackupBeforeMigratingOptions,
): Promise<string | undefined> {
  const { db, config } = options;
  if (!options.enabled) {
    options.log('backup before migrating: skipped (--no-backup or MIGRATION_BACKUP=false)');
    return undefined;
  }
  if (db.databaseName.startsWith('test')) {
    options.log(`backup before migrating: skipped, ${db.databaseName} is a test database`);
    return undefined;
  }
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  if (collections.every((c) => c.name === LOCK_COLLECTION)) {
    options.log(`backup before migrating: skipped, ${db.databaseName} is empty`);
    return undefined;
  }
  try {
    const result = await runBackup({
      uri: options.uri,
      dbName: db.databaseName,
      dir: config.backup.dir,
      retention: config.backup.keep,
      mongodumpPath: config.backup.mongodumpPath,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
      signal: options.signal,
    });
    options.log(`backup before migrating: ${result.archivePath}`);
    return result.archivePath;
  } catch (error) {
    const reason = redactSecrets((error as Error).message, options.uri).split('\n')[0];
    throw new BackupBeforeMigratingError(
      `backup before migrating failed, nothing was migrated: ${reason} ` +
        '(fix it, or pass --no-backup / set MIGRATION_BACKUP=false to migrate without one)',
    );
  }
}
