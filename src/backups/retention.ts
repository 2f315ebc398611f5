import { rm } from 'node:fs/promises';
import { fileSystemError } from './errors.ts';
import type { BackupEntry } from './manifest.ts';

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface Dated {
  id: string;
  time: Date;
}

export interface RetentionPlan<T extends Dated> {
  keep: { item: T; reasons: string[] }[];
  prune: T[];
}

type Period = keyof RetentionPolicy;

/**
 * Grandfather-father-son, the way restic's `forget --keep-daily/weekly/monthly` counts: walking
 * from newest to oldest, the newest backup of each UTC day is kept for the last `daily` days
 * that have backups, likewise per ISO week and per month. The newest backup is always kept.
 * Days without a backup do not use up the count, so a stopped cron never ages good copies out.
 */
export function planRetention<T extends Dated>(
  items: T[],
  policy: RetentionPolicy,
): RetentionPlan<T> {
  const sorted = [...items].sort((a, b) => b.time.getTime() - a.time.getTime());
  const used: Record<Period, number> = { daily: 0, weekly: 0, monthly: 0 };
  const lastKey: Record<Period, string | undefined> = {
    daily: undefined,
    weekly: undefined,
    monthly: undefined,
  };
  const plan: RetentionPlan<T> = { keep: [], prune: [] };
  sorted.forEach((item, index) => {
    const reasons = index === 0 ? ['newest'] : [];
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

export function backupsAsDated(entries: BackupEntry[]): (Dated & { entry: BackupEntry })[] {
  return entries.map((entry) => ({ id: entry.archivePath, time: entry.startedAt, entry }));
}

/**
 * Deletes a pruned backup, archive first: a run that dies in between leaves a small manifest that
 * listBackups reports as skipped, rather than an archive nothing lists any more filling the disk.
 */
export async function deleteBackup(entry: BackupEntry): Promise<void> {
  try {
    await rm(entry.archivePath, { force: true });
    await rm(entry.manifestPath, { force: true });
  } catch (error) {
    throw fileSystemError(`deleting ${entry.archivePath}`, error);
  }
}
