import type { Db } from 'mongodb';
import { isBookkeeping, runBackup } from '../backups/backup.ts';
import type { Config } from '../config.ts';
import { ScriptError } from '../process/script-error.ts';
import { redactSecrets } from '../shared/connection-string.ts';

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
 * Why no backup is taken before migrating (switched off, a test database, or nothing but
 * bookkeeping to back up, as `down --to base` leaves it), or undefined when one is.
 */
async function backupSkipReason({
  db,
  enabled,
}: Pick<BackupBeforeMigratingOptions, 'db' | 'enabled'>) {
  if (!enabled) return 'skipped (--no-backup or MIGRATION_BACKUP=false)';
  if (db.databaseName.startsWith('test')) return `skipped, ${db.databaseName} is a test database`;
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  for (const { name } of collections) {
    if (isBookkeeping(name) || name.startsWith('system.')) continue;
    if ((await db.collection(name).countDocuments({}, { limit: 1 })) > 0) return undefined;
  }
  return `skipped, ${db.databaseName} holds no data (only migration bookkeeping, if anything)`;
}

/** What a dry run prints for the backup the run would take. */
export async function describePlannedBackup(
  options: Pick<BackupBeforeMigratingOptions, 'db' | 'enabled' | 'config'>,
): Promise<string> {
  const skipped = await backupSkipReason(options);
  if (skipped) return `backup before migrating: ${skipped}`;
  return `backup before migrating: a pre-migration archive of ${options.db.databaseName} in ${options.config.backup.dir} (as npm run backup; kept ${options.config.backup.keep.preMigrationDays} days)`;
}

/**
 * The tutorial's rule: never migrate without a backup. Runs `npm run backup`'s backup (same
 * folder, retention and mongodump) unless backupSkipReason says why not; returns the archive.
 */
export async function backupBeforeMigrating(
  options: BackupBeforeMigratingOptions,
): Promise<string | undefined> {
  const { db, config } = options;
  const skipped = await backupSkipReason(options);
  if (skipped) {
    options.log(`backup before migrating: ${skipped}`);
    return undefined;
  }
  try {
    const result = await runBackup({
      uri: options.uri,
      dbName: db.databaseName,
      dir: config.backup.dir,
      retention: config.backup.keep,
      reason: 'pre-migration',
      mongodumpPath: config.backup.mongodumpPath,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
      signal: options.signal,
    });
    options.log(`backup before migrating: ${result.archivePath}`);
    return result.archivePath;
  } catch (error) {
    const reason = redactSecrets((error as Error).message, options.uri).split('\n')[0];
    throw new ScriptError(
      'backup-before-migrating-failed',
      `backup before migrating failed, nothing was migrated: ${reason} ` +
        '(fix it, or pass --no-backup / set MIGRATION_BACKUP=false to migrate without one)',
    );
  }
}
