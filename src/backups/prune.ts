import { resolve } from 'node:path';
import { listBackups } from './manifest.ts';
import {
  backupsAsDated,
  type Dated,
  deleteBackup,
  planRetention,
  type RetentionPolicy,
} from './retention.ts';

export interface PruneOptions {
  dir: string;
  database: string;
  policy: RetentionPolicy;
  /** List what would go, delete nothing. */
  dryRun?: boolean;
  /** An archive that is never deleted (the one this run just wrote, whatever the clocks say). */
  protect?: string;
  /** Plan as if one more backup finished at this time (what a run now would prune). */
  pretendBackupAt?: Date;
}

export interface PruneResult {
  kept: { archivePath: string; reasons: string[] }[];
  pruned: string[];
  /** Manifests that describe no usable archive; never deleted, reported for a human. */
  skipped: { file: string; reason: string }[];
}

const PRETEND_ID = '(the backup a run now would make)';

/** Applies the retention policy to one database's good backups in a folder. */
export async function pruneBackups(options: PruneOptions): Promise<PruneResult> {
  const listing = await listBackups(resolve(options.dir), options.database);
  const items: Dated[] = backupsAsDated(listing.good);
  if (options.pretendBackupAt) items.push({ id: PRETEND_ID, time: options.pretendBackupAt });
  const plan = planRetention(items, options.policy);
  const protectedPath = options.protect ? resolve(options.protect) : undefined;
  const result: PruneResult = {
    kept: plan.keep.map(({ item, reasons }) => ({ archivePath: item.id, reasons })),
    pruned: [],
    skipped: listing.skipped,
  };
  for (const item of plan.prune) {
    if (item.id === protectedPath) {
      result.kept.push({ archivePath: item.id, reasons: ['written by this run'] });
      continue;
    }
    const entry = listing.good.find((e) => e.archivePath === item.id);
    if (!entry) continue;
    if (!options.dryRun) await deleteBackup(entry);
    result.pruned.push(entry.archivePath);
  }
  return result;
}
