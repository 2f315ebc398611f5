import { resolve } from 'node:path';
import { hashFile } from './archive-reader.ts';
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
 * The newest backup, checked without a restore: its archive's size and SHA-256 against its
 * manifest, then its age (from when it finished). Each failure names the check, with an exit
 * code monitoring can alert on: no-backup, checksum-mismatch (size or hash), backup-too-old.
 */
export async function backupStatus(options: StatusOptions): Promise<StatusResult> {
  const dir = resolve(options.dir);
  const { good, damaged, skipped } = await listBackups(dir, options.database);
  const newest = [...good, ...damaged].reduce<(BackupEntry & { reason?: string }) | undefined>(
    (best, entry) => (!best || entry.manifest.finishedAt > best.manifest.finishedAt ? entry : best),
    undefined,
  );
  if (!newest) {
    const of = options.database ? ` of ${options.database}` : '';
    throw new BackupError('no-backup', `no good backup${of} in ${dir}`);
  }
  if (newest.reason) {
    throw new BackupError(
      'checksum-mismatch',
      `size check failed for the newest backup ${newest.archivePath}: ${newest.reason}`,
    );
  }
  const { sha256 } = await hashFile(newest.archivePath);
  if (sha256 !== newest.manifest.sha256) {
    throw new BackupError(
      'checksum-mismatch',
      `checksum check failed for the newest backup ${newest.archivePath}: SHA-256 ${sha256}, the manifest says ${newest.manifest.sha256}`,
    );
  }
  const now = options.now ?? new Date();
  const ageHours = (now.getTime() - new Date(newest.manifest.finishedAt).getTime()) / 3_600_000;
  if (ageHours > options.maxAgeHours) {
    throw new BackupError(
      'backup-too-old',
      `age check failed: the newest backup is ${ageHours.toFixed(1)} h old (threshold ${options.maxAgeHours} h): ${newest.archivePath}`,
    );
  }
  return { newest, ageHours, skipped };
}
