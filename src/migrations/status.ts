import { status as migrateMongoStatus } from 'migrate-mongo';
import type { Db } from 'mongodb';
import { CHANGELOG_COLLECTION, MIGRATIONS_DIR, useMigrationsDir } from './settings.ts';

export interface AppliedMigration {
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
  const applied = files.flatMap((f) =>
    f.appliedAt ? [{ fileName: f.fileName, appliedAt: f.appliedAt }] : [],
  );
  const pending = files.filter((f) => !f.appliedAt).map((f) => f.fileName);
  const known = new Set(files.map((f) => f.fileName));
  const logged = await db
    .collection<{ fileName: string }>(CHANGELOG_COLLECTION)
    .find({}, { projection: { _id: 0, fileName: 1 } })
    .toArray();
  const unknown = logged.map((entry) => entry.fileName).filter((name) => !known.has(name));
  const latestApplied = [...applied.map((a) => a.fileName), ...unknown].sort().at(-1);
  const outOfOrder = latestApplied ? pending.filter((name) => name < latestApplied) : [];
  return { files, applied, pending, outOfOrder, unknown, latestApplied };
}

/** Names of the pending migrations (for start-up and readiness). */
export async function pendingMigrations(db: Db, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  return (await readMigrationStatus(db, migrationsDir)).pending;
}
