import { status as migrateMongoStatus } from 'migrate-mongo';
import type { Db } from 'mongodb';
import { CHANGELOG_COLLECTION, MIGRATIONS_DIR, useMigrationsDir } from './settings.ts';

export interface AppliedMigration {
  fileName: string;
  appliedAt: Date;
  /** migrate-mongo's run id (Date.now() of the run): `down --block` rolls back one run. */
  migrationBlock?: number;
}

export interface ChangelogEntry {
  fileName: string;
  appliedAt: Date;
}

export interface MigrationStatus {
  /** Every migration file in order, with when it was applied (undefined: pending). */
  files: { fileName: string; appliedAt: Date | undefined }[];
  applied: AppliedMigration[];
  pending: string[];
  /** Pending files that sort before the latest applied one (merged late from another branch). */
  outOfOrder: string[];
  /** Applied according to the changelog, but no such file here (the database is ahead of the code). */
  unknown: string[];
  /** Files the changelog records more than once (two runs applied them), with every entry. */
  duplicates: { fileName: string; entries: ChangelogEntry[] }[];
  latestApplied: string | undefined;
}

/** What is applied and what is pending, as migrate-mongo sees it, plus what it does not check. */
export async function readMigrationStatus(
  db: Db,
  migrationsDir = MIGRATIONS_DIR,
): Promise<MigrationStatus> {
  useMigrationsDir(migrationsDir);
  const items = await migrateMongoStatus(db);
  const files = items.map((item) => ({
    fileName: item.fileName,
    appliedAt: item.appliedAt === 'PENDING' ? undefined : new Date(item.appliedAt),
  }));
  const applied = items.flatMap((item) =>
    item.appliedAt === 'PENDING'
      ? []
      : [
          {
            fileName: item.fileName,
            appliedAt: new Date(item.appliedAt),
            migrationBlock: item.migrationBlock,
          },
        ],
  );
  const pending = files.filter((f) => !f.appliedAt).map((f) => f.fileName);
  const known = new Set(files.map((f) => f.fileName));
  const logged = await db
    .collection<ChangelogEntry>(CHANGELOG_COLLECTION)
    .find({}, { projection: { _id: 0, fileName: 1, appliedAt: 1 } })
    .toArray();
  const unknown = [
    ...new Set(logged.map((entry) => entry.fileName).filter((n) => !known.has(n))),
  ].sort();
  const latestApplied = [...applied.map((a) => a.fileName), ...unknown].sort().at(-1);
  const outOfOrder = latestApplied ? pending.filter((name) => name < latestApplied) : [];
  return {
    files,
    applied,
    pending,
    outOfOrder,
    unknown,
    duplicates: duplicatesOf(logged),
    latestApplied,
  };
}

function duplicatesOf(logged: ChangelogEntry[]): MigrationStatus['duplicates'] {
  const byFile = new Map<string, ChangelogEntry[]>();
  for (const entry of logged)
    byFile.set(entry.fileName, [...(byFile.get(entry.fileName) ?? []), entry]);
  return [...byFile]
    .filter(([, entries]) => entries.length > 1)
    .map(([fileName, entries]) => ({
      fileName,
      entries: entries.toSorted((a, b) => a.appliedAt.getTime() - b.appliedAt.getTime()),
    }))
    .sort((a, b) => a.fileName.localeCompare(b.fileName));
}

/**
 * What makes the changelog untrustworthy, one line each: a file recorded twice (a `down` would
 * roll back one entry and leave the migration "applied"), or an entry this code has no file for.
 */
export function changelogProblems(status: MigrationStatus): string[] {
  return [
    ...status.duplicates.map(
      (d) => `duplicate changelog entry: ${d.fileName} is recorded ${d.entries.length} times`,
    ),
    ...status.unknown.map((name) => `unknown changelog entry: ${name} is not in migrations/`),
  ];
}

/** Names of the pending migrations (for start-up and readiness). */
export async function pendingMigrations(db: Db, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  return (await readMigrationStatus(db, migrationsDir)).pending;
}
