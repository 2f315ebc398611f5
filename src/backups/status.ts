import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { hashFile } from './archive-reader.ts';
import { BackupError } from './errors.ts';
import { ARCHIVE_SUFFIX, type BackupEntry, listBackups, manifestPathFor } from './manifest.ts';

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
 * code monitoring can alert on: no-backup, manifest-missing (the newest archive has no readable
 * manifest: it is never passed over for an older one), checksum-mismatch (size or hash),
 * backup-too-old.
 */
export async function backupStatus(options: StatusOptions): Promise<StatusResult> {
  const dir = resolve(options.dir);
  const { good, damaged, skipped } = await listBackups(dir, options.database);
  const newest = [...good, ...damaged].reduce<(BackupEntry & { reason?: string }) | undefined>(
    (best, entry) => (!best || entry.manifest.finishedAt > best.manifest.finishedAt ? entry : best),
    undefined,
  );
  await assertNewestHasManifest(dir, options.database, newest, skipped);
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

const STAMPED = new RegExp(`-\\d{8}T\\d{6}\\.\\d{3}Z${ARCHIVE_SUFFIX.replaceAll('.', '\\.')}$`);
/** The time stamp that ends an archive's name ("-20260123T021500.123Z.archive.gz"): they sort by time. */
const stampOf = (path: string) => path.slice(path.search(STAMPED));

/** The newest archive file of `database` in `dir`, by its name's time stamp. */
async function newestArchive(dir: string, database?: string): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(
    (name) =>
      STAMPED.test(name) &&
      (database === undefined || name.slice(0, name.search(STAMPED)) === database),
  );
  const last = names.sort((a, b) => (stampOf(a) < stampOf(b) ? -1 : 1)).at(-1);
  return last && join(dir, last);
}

/** Fails when an archive newer than the newest manifest's has no manifest that can be read. */
async function assertNewestHasManifest(
  dir: string,
  database: string | undefined,
  newest: BackupEntry | undefined,
  skipped: { file: string; reason: string }[],
): Promise<void> {
  const archive = await newestArchive(dir, database);
  if (!archive || (newest && stampOf(archive) <= stampOf(newest.archivePath))) return;
  const manifest = manifestPathFor(archive);
  const why = skipped.find((entry) => entry.file === manifest)?.reason ?? 'it has no manifest';
  throw new BackupError(
    'manifest-missing',
    `the newest backup ${archive} cannot be checked: ${why} (${manifest}); an older backup does not stand in for it`,
  );
}
