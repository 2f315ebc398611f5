import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { hashFile } from './archive-reader.ts';
import { BackupError } from './errors.ts';
import { type BackupEntry, listBackups, manifestPathFor } from './manifest.ts';

export interface StatusOptions {
  dir: string;
  database: string;
  maxAgeHours: number;
  now?: Date;
}

// The time stamp that ends an archive's name after "<database>-": archives sort by time.
const STAMPED = /^\d{8}T\d{6}\.\d{3}Z\.archive\.gz$/;

/**
 * The newest backup, checked without a restore: its archive's size and SHA-256 against its
 * manifest, then its age (from when it finished). Each failure names the check, with an exit
 * code monitoring can alert on: no-backup, manifest-missing (the newest archive has no readable
 * manifest: it is never passed over for an older one), checksum-mismatch (size or hash),
 * backup-too-old.
 */
export async function backupStatus(options: StatusOptions) {
  const { database } = options;
  const dir = resolve(options.dir);
  const { good, damaged, skipped } = await listBackups(dir, database);
  const newest = [...good, ...damaged].reduce<(BackupEntry & { reason?: string }) | undefined>(
    (best, entry) => (!best || entry.manifest.finishedAt > best.manifest.finishedAt ? entry : best),
    undefined,
  );
  const newestArchive = (await readdir(dir).catch(() => [] as string[]))
    .filter(
      (name) => name.startsWith(`${database}-`) && STAMPED.test(name.slice(database.length + 1)),
    )
    .sort()
    .at(-1);
  if (newestArchive && (!newest || newestArchive > basename(newest.archivePath))) {
    const manifest = manifestPathFor(join(dir, newestArchive));
    const why = skipped.find((entry) => entry.file === manifest)?.reason ?? 'it has no manifest';
    throw new BackupError(
      'manifest-missing',
      `the newest backup ${join(dir, newestArchive)} cannot be checked: ${why} (${manifest}); an older backup does not stand in for it`,
    );
  }
  if (!newest) throw new BackupError('no-backup', `no good backup of ${database} in ${dir}`);
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
