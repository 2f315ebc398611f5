import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileSystemError } from './errors.ts';
import { listBackups } from './manifest.ts';

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
  /** The newest N are kept whatever their dates (default 1: the newest). */
  last?: number;
  /** Backups taken before a migration are kept this many days, outside the counts above. */
  preMigrationDays?: number;
}

export interface Dated {
  id: string;
  time: Date;
  /** Taken by the backup before a migration (kept under its own rule). */
  preMigration?: boolean;
}

export interface RetentionPlan<T extends Dated> {
  keep: { item: T; reasons: string[] }[];
  prune: T[];
}

type Period = 'daily' | 'weekly' | 'monthly';

/**
 * Grandfather-father-son, the way restic's `forget --keep-daily/weekly/monthly` counts: walking
 * from newest to oldest, the newest backup of each UTC day is kept for the last `daily` days
 * that have backups, likewise per ISO week and per month. The newest backup is always kept.
 * Days without a backup do not use up the count, so a stopped cron never ages good copies out.
 * On top of that, whatever their days: the newest `last` backups are kept (so two backups of one
 * day never replace each other while they are recent). A backup taken before a migration (the
 * data as it was before its shape changed) is kept for `preMigrationDays` after `now` on a track
 * of its own: meanwhile it takes none of the places above, so a migration never pushes an
 * ordinary backup out; afterwards it is counted like any other.
 */
export function planRetention<T extends Dated>(
  items: T[],
  policy: RetentionPolicy,
  now = new Date(),
): RetentionPlan<T> {
  const last = Math.max(1, policy.last ?? 1);
  const preMigrationMs = (policy.preMigrationDays ?? 0) * 86_400_000;
  const newestFirst = [...items].sort((a, b) => b.time.getTime() - a.time.getTime());
  const ownTrack = (item: T) =>
    item.preMigration === true && now.getTime() - item.time.getTime() < preMigrationMs;
  const sorted = newestFirst.filter((item) => !ownTrack(item));
  const used: Record<Period, number> = { daily: 0, weekly: 0, monthly: 0 };
  const lastKey: Record<Period, string | undefined> = {
    daily: undefined,
    weekly: undefined,
    monthly: undefined,
  };
  const plan: RetentionPlan<T> = { keep: [], prune: [] };
  sorted.forEach((item, index) => {
    const reasons = index === 0 ? ['newest'] : index < last ? [`among the newest ${last}`] : [];
    for (const period of ['daily', 'weekly', 'monthly'] as const) {
      const key = periodKey(period, item.time);
      if (key !== lastKey[period] && used[period] < policy[period]) {
        used[period] += 1;
        reasons.push(`${period} ${key}`);
      }
      lastKey[period] = key;
    }
    if (reasons.length > 0) plan.keep.push({ item, reasons });
    else plan.prune.push(item);
  });
  for (const item of newestFirst.filter(ownTrack)) {
    plan.keep.push({
      item,
      reasons: [`taken before a migration (kept ${policy.preMigrationDays} days)`],
    });
  }
  const order = (entry: T) => newestFirst.indexOf(entry);
  plan.keep.sort((a, b) => order(a.item) - order(b.item));
  return plan;
}

function periodKey(period: Period, time: Date): string {
  const iso = time.toISOString();
  if (period === 'daily') return iso.slice(0, 10);
  if (period === 'monthly') return iso.slice(0, 7);
  return isoWeek(time);
}

/** ISO 8601 week ("2026-W04") of a UTC date: weeks start on Monday, week 1 holds a Thursday. */
export function isoWeek(time: Date): string {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

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

/** Applies the retention policy to one database's good backups in a folder. */
export async function pruneBackups(options: PruneOptions): Promise<PruneResult> {
  const listing = await listBackups(resolve(options.dir), options.database);
  const items: (Dated & { manifestPath?: string })[] = listing.good.map((entry) => ({
    id: entry.archivePath,
    time: entry.startedAt,
    preMigration: entry.manifest.reason === 'pre-migration',
    manifestPath: entry.manifestPath,
  }));
  const pretend = options.pretendBackupAt;
  if (pretend) items.push({ id: '(the backup a run now would make)', time: pretend });
  const plan = planRetention(items, options.policy);
  const kept = plan.keep.map(({ item, reasons }) => ({ archivePath: item.id, reasons }));
  const result: PruneResult = { kept, pruned: [], skipped: listing.skipped };
  for (const { id, manifestPath } of plan.prune) {
    if (options.protect && id === resolve(options.protect)) {
      result.kept.push({ archivePath: id, reasons: ['written by this run'] });
    } else if (manifestPath) {
      // Archive first: a run that dies in between leaves a small manifest that listBackups
      // reports as skipped, rather than an archive nothing lists any more filling the disk.
      try {
        if (!options.dryRun) await rm(id, { force: true });
        if (!options.dryRun) await rm(manifestPath, { force: true });
      } catch (error) {
        throw fileSystemError(`deleting ${id}`, error);
      }
      result.pruned.push(id);
    }
  }
  return result;
}
