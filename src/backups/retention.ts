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
) {
  const last = Math.max(1, policy.last ?? 1);
  const preMigrationMs = (policy.preMigrationDays ?? 0) * 86_400_000;
  const newestFirst = [...items].sort((a, b) => b.time.getTime() - a.time.getTime());
  const ownTrack = (item: T) =>
    item.preMigration === true && now.getTime() - item.time.getTime() < preMigrationMs;
  const periods = {
    daily: (time: Date) => time.toISOString().slice(0, 10),
    weekly: isoWeek,
    monthly: (time: Date) => time.toISOString().slice(0, 7),
  };
  const seen = { daily: new Set<string>(), weekly: new Set<string>(), monthly: new Set<string>() };
  const plan = { keep: [] as { item: T; reasons: string[] }[], prune: [] as T[] };
  newestFirst
    .filter((item) => !ownTrack(item))
    .forEach((item, index) => {
      const reasons = index === 0 ? ['newest'] : index < last ? [`among the newest ${last}`] : [];
      for (const [period, keyOf] of Object.entries(periods) as [
        keyof typeof periods,
        typeof isoWeek,
      ][]) {
        const key = keyOf(item.time);
        // Newest first: the first backup of a period is its newest, until the count is used up.
        if (!seen[period].has(key) && seen[period].size < policy[period])
          reasons.push(`${period} ${key}`);
        seen[period].add(key);
      }
      if (reasons.length > 0) plan.keep.push({ item, reasons });
      else plan.prune.push(item);
    });
  for (const item of newestFirst.filter(ownTrack)) {
    const reasons = [`taken before a migration (kept ${policy.preMigrationDays} days)`];
    plan.keep.push({ item, reasons });
  }
  plan.keep.sort((a, b) => newestFirst.indexOf(a.item) - newestFirst.indexOf(b.item));
  return plan;
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

/** Applies the retention policy to one database's good backups in a folder. */
export async function pruneBackups(options: PruneOptions) {
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
  // skipped: manifests that describe no usable archive; never deleted, reported for a human.
  const result = { kept, pruned: [] as string[], skipped: listing.skipped };
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
