import { resolve } from 'node:path';
import { BackupError } from './errors.ts';
import { type BackupEntry, listBackups } from './manifest.ts';

export interface StatusOptions {
  dir: string;
  database?: string;
  maxAgeHours: number;
  now?: Date;
}

export interface StatusResult {
  newest: BackupEntry;
  ageHours: number;
  skipped: { file: string; reason: string }[];
}

/**
 * The newest good backup and its age (from the time the backup finished). Throws no-backup or
 * backup-too-old so that monitoring can alert on the exit code.
 */
export async function backupStatus(options: StatusOptions): Promise<StatusResult> {
  const dir = resolve(options.dir);
  const { good, skipped } = await listBackups(dir, options.database);
  const newest = good.reduce<BackupEntry | undefined>(
    (best, entry) => (!best || entry.manifest.finishedAt > best.manifest.finishedAt ? entry : best),
    undefined,
  );
  if (!newest) {
    const of = options.database ? ` of ${options.database}` : '';
    throw new BackupError('no-backup', `no good backup${of} in ${dir}`);
  }
  const now = options.now ?? new Date();
  const ageHours = (now.getTime() - new Date(newest.manifest.finishedAt).getTime()) / 3_600_000;
  if (ageHours > options.maxAgeHours) {
    throw new BackupError(
      'backup-too-old',
      `newest good backup is ${ageHours.toFixed(1)} h old (threshold ${options.maxAgeHours} h): ${newest.archivePath}`,
    );
  }
  return { newest, ageHours, skipped };
}
