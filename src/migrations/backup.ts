import type { Db } from 'mongodb';
import { isBookkeeping, runBackup } from '../backups/backup.ts';
import type { Config } from '../config.ts';
import { ScriptError } from '../process/script-error.ts';
import { redactSecrets } from '../shared/connection-string.ts';

export class BackupBeforeMigratingError extends ScriptError {
  constructor(message: string) {
    super('backup-before-migrating-failed', message);
    this.name = 'BackupBeforeMigratingError';
  }
}

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
/**
 * Empty for backup purposes: every collection is bookkeeping (the changelog, the locks) or holds
 * no document. `migrate down --to base` leaves exactly such a database; backing it up would only
 * add an archive that looks newer than the real ones.
 */
export async function holdsNoData(db: Db): Promise<boolean> {
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  for (const { name } of collections) {
    if (isBookkeeping(name) || name.startsWith('system.')) continue;
    if ((await db.collection(name).countDocuments({}, { limit: 1 })) > 0) return false;
  }
  return true;
}

/** Why no backup is taken before migrating, or undefined when one is. */
export async function backupSkipReason(
  options: Pick<BackupBeforeMigratingOptions, 'db' | 'enabled'>,
): Promise<string | undefined> {
  const { db } = options;
  if (!options.enabled) return 'skipped (--no-backup or MIGRATION_BACKUP=false)';
  if (db.databaseName.startsWith('test')) return `skipped, ${db.databaseName} is a test database`;
  if (await holdsNoData(db)) {
    return `skipped, ${db.databaseName} holds no data (only migration bookkeeping, if anything)`;
  }
  return undefined;
}

/** What a dry run prints for the backup the run would take. */
export async function describePlannedBackup(
  options: Pick<BackupBeforeMigratingOptions, 'db' | 'enabled' | 'config'>,
): Promise<string> {
  const skipped = await backupSkipReason(options);
  if (skipped) return `backup before migrating: ${skipped}`;
  return `backup before migrating: a pre-migration archive of ${options.db.databaseName} in ${options.config.backup.dir} (as npm run backup; kept ${options.config.backup.keep.preMigrationDays} days)`;
}

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
    throw new BackupBeforeMigratingError(
      `backup before migrating failed, nothing was migrated: ${reason} ` +
        '(fix it, or pass --no-backup / set MIGRATION_BACKUP=false to migrate without one)',
    );
  }
}
