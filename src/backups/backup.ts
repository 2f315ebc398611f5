import { readdir, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Capabilities } from '../db/capabilities.ts';
import { type ArchiveSummary, inspectArchive } from './archive-reader.ts';
import { CHANGELOG_COLLECTION, isBookkeeping } from './bookkeeping.ts';
import { dumpTo, syncDirectory, throwIfAborted } from './dump.ts';
import { BackupError, fileSystemError } from './errors.ts';
import { prepareBackupFolder } from './folder.ts';
import { acquireLock, assertLockHeld, type LockOptions } from './lock.ts';
import {
  archiveFileName,
  type Manifest,
  manifestPathFor,
  PARTIAL_SUFFIX,
  writeManifest,
} from './manifest.ts';
import { pruneBackups } from './prune.ts';
import type { RetentionPolicy } from './retention.ts';
import { openServer } from './server.ts';
import { locateTool } from './tools.ts';

export interface BackupOptions {
  uri: string;
  dbName: string;
  dir: string;
  /** Prune with this policy after the backup succeeded; absent: keep everything. */
  retention?: RetentionPolicy;
  mongodumpPath?: string;
  serverSelectionTimeoutMS?: number;
  lock?: LockOptions;
  now?: () => Date;
  /** Aborting (SIGTERM from cron's timeout, Ctrl-C) stops mongodump and cleans up. */
  signal?: AbortSignal;
  /** pre-migration: kept under its own retention rule (see planRetention). */
  reason?: 'scheduled' | 'pre-migration';
}

export interface BackupResult {
  archivePath: string;
  manifestPath: string;
  manifest: Manifest;
  pruned: string[];
  /** Nothing but migration bookkeeping in it: nothing was pruned to make room for it. */
  empty: boolean;
}

/**
 * One backup run: lock, dump to a .partial file, read it back (checksum, gzip, archive
 * structure, counts), rename into place, write the manifest, then prune. Throws BackupError;
 * nothing half-written stays behind.
 */
export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const dir = resolve(options.dir);
  const now = options.now ?? (() => new Date());
  await prepareBackupFolder(dir);
  const lock = await acquireLock(dir, options.lock);
  try {
    await removeStalePartials(dir);
    const mongodump = locateTool('mongodump', { explicitPath: options.mongodumpPath });
    const capabilities = await probe(options);
    throwIfAborted(options.signal);
    const startedAt = now();
    const archivePath = join(dir, archiveFileName(options.dbName, startedAt));
    const manifestPath = manifestPathFor(archivePath);
    const manifest = await dumpAndCheck({
      ...options,
      mongodump,
      archivePath,
      manifestPath,
      startedAt,
      now,
      capabilities,
    });
    // Pruning next to another run would delete what it counts on: only while the lock is ours.
    assertLockHeld(lock);
    // A backup of an empty database never makes room by deleting a copy of real data.
    const empty = manifest.collections.every((c) => c.documents === 0 || isBookkeeping(c.name));
    const pruned =
      options.retention && !empty
        ? (
            await pruneBackups({
              dir,
              database: options.dbName,
              policy: options.retention,
              protect: archivePath,
            })
          ).pruned
        : [];
    return { archivePath, manifestPath, manifest, pruned, empty };
  } finally {
    await lock.release();
  }
}

async function probe(options: BackupOptions): Promise<Capabilities> {
  const db = await openServer(options.uri, options.dbName, options.serverSelectionTimeoutMS);
  try {
    return db.capabilities;
  } finally {
    await db.close();
  }
}

// Only this lock holder writes here, so any .partial file is left by a run that was killed.
async function removeStalePartials(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.endsWith(PARTIAL_SUFFIX)) await rm(join(dir, name), { force: true });
  }
}

interface DumpPlan extends BackupOptions {
  mongodump: string;
  archivePath: string;
  manifestPath: string;
  startedAt: Date;
  now: () => Date;
  capabilities: Capabilities;
}

async function dumpAndCheck(plan: DumpPlan): Promise<Manifest> {
  const partial = plan.archivePath + PARTIAL_SUFFIX;
  let renamed = false;
  try {
    const streamedSha256 = await dumpTo(partial, plan);
    const summary = await inspectArchive(partial, [CHANGELOG_COLLECTION]);
    throwIfAborted(plan.signal);
    if (summary.sha256 !== streamedSha256) {
      throw new BackupError(
        'checksum-mismatch',
        `checksum mismatch: mongodump sent ${streamedSha256}, ${partial} reads back as ${summary.sha256}`,
      );
    }
    const stray = summary.databases.filter((name) => name !== plan.dbName);
    if (stray.length > 0)
      throw new BackupError('dump-failed', `archive holds other databases: ${stray.join(', ')}`);
    await rename(partial, plan.archivePath);
    renamed = true;
    await syncDirectory(plan.archivePath);
    const manifest = buildManifest(plan, summary);
    await writeManifest(plan.manifestPath, manifest);
    return manifest;
  } catch (error) {
    await rm(partial, { force: true });
    if (renamed) await rm(plan.archivePath, { force: true });
    if (error instanceof BackupError) throw error;
    throw fileSystemError(`writing ${plan.archivePath}`, error);
  }
}

function buildManifest(plan: DumpPlan, summary: ArchiveSummary): Manifest {
  const finishedAt = plan.now();
  const changelogDocs = summary.decoded[CHANGELOG_COLLECTION] ?? [];
  return {
    formatVersion: 1,
    database: plan.dbName,
    archive: basename(plan.archivePath),
    sizeBytes: summary.sizeBytes,
    sha256: summary.sha256,
    startedAt: plan.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.max(0, finishedAt.getTime() - plan.startedAt.getTime()),
    reason: plan.reason ?? 'scheduled',
    server: {
      engine: plan.capabilities.engine,
      version: summary.serverVersion || plan.capabilities.serverVersion,
      engineVersion: plan.capabilities.engineVersion,
    },
    tool: { name: 'mongodump', version: summary.toolVersion, path: plan.mongodump },
    collections: summary.collections
      .map((c) => ({
        name: c.name,
        documents: c.documents,
        indexes: c.indexes.map((i) => String(i.name)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    changelog: {
      collection: CHANGELOG_COLLECTION,
      present: summary.collections.some((c) => c.name === CHANGELOG_COLLECTION),
      migrations: changelogDocs
        .map((doc) => ({
          fileName: String(doc.fileName),
          appliedAt: doc.appliedAt instanceof Date ? doc.appliedAt.toISOString() : null,
          ...(typeof doc.migrationBlock === 'number' ? { migrationBlock: doc.migrationBlock } : {}),
        }))
        .sort(
          (a, b) =>
            (a.appliedAt ?? '').localeCompare(b.appliedAt ?? '') ||
            a.fileName.localeCompare(b.fileName),
        ),
    },
  };
}
