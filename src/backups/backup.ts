import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CHANGELOG_COLLECTION, LOCK_COLLECTIONS } from '../db/bookkeeping-collections.ts';
import type { Capabilities } from '../db/capabilities.ts';
import { redactSecrets } from '../shared/connection-string.ts';
import { type ArchiveSummary, inspectArchive } from './archive-reader.ts';
import { BackupError, fileSystemError, throwIfAborted } from './errors.ts';
import { acquireLock, assertLockHeld, type LockOptions } from './lock.ts';
import {
  archiveFileName,
  type Manifest,
  manifestPathFor,
  PARTIAL_SUFFIX,
  writeManifest,
} from './manifest.ts';
import { pruneBackups, type RetentionPolicy } from './retention.ts';
import { locateTool, openServer, startTool, withToolConfig } from './tools.ts';

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

/** migrate-mongo's changelog and the migration locks: bookkeeping, not data. */
export function isBookkeeping(collection: string): boolean {
  return collection === CHANGELOG_COLLECTION || LOCK_COLLECTIONS.includes(collection);
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
    // Only this lock holder writes here, so any .partial file is left by a run that was killed.
    for (const name of await readdir(dir)) {
      if (name.endsWith(PARTIAL_SUFFIX)) await rm(join(dir, name), { force: true });
    }
    const mongodump = locateTool('mongodump', { explicitPath: options.mongodumpPath });
    const server = await openServer(options.uri, options.dbName, options.serverSelectionTimeoutMS);
    await server.close();
    throwIfAborted(options.signal);
    const startedAt = now();
    const archivePath = join(dir, archiveFileName(options.dbName, startedAt));
    const plan = { ...options, mongodump, archivePath, startedAt, now };
    const manifest = await dumpAndCheck({ ...plan, capabilities: server.capabilities });
    // Pruning next to another run would delete what it counts on: only while the lock is ours.
    assertLockHeld(lock);
    // A backup of an empty database never makes room by deleting a copy of real data.
    const empty = manifest.collections.every((c) => c.documents === 0 || isBookkeeping(c.name));
    const { dbName: database, retention: policy } = options;
    const pruned =
      policy && !empty
        ? (await pruneBackups({ dir, database, policy, protect: archivePath })).pruned
        : [];
    return { archivePath, manifestPath: manifestPathFor(archivePath), manifest, pruned, empty };
  } finally {
    await lock.release();
  }
}

interface DumpPlan extends BackupOptions {
  mongodump: string;
  archivePath: string;
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
    await sync(dirname(plan.archivePath)); // a rename is durable once the directory is on disk
    const manifest = buildManifest(plan, summary);
    await writeManifest(manifestPathFor(plan.archivePath), manifest);
    return manifest;
  } catch (error) {
    await rm(partial, { force: true });
    if (renamed) await rm(plan.archivePath, { force: true });
    if (error instanceof BackupError) throw error;
    throw fileSystemError(`writing ${plan.archivePath}`, error);
  }
}

/** Streams mongodump's archive (stdout) into the file, hashing on the way; fsyncs the file. */
async function dumpTo(partial: string, plan: DumpPlan): Promise<string> {
  return withToolConfig(plan.uri, async (configPath) => {
    // Through stdout rather than --archive=<file>: if this process dies, mongodump's next write
    // fails and it stops too, instead of dumping on into a file nobody will finish.
    const excluded = LOCK_COLLECTIONS.map((name) => `--excludeCollection=${name}`);
    const args = ['--config', configPath, '--db', plan.dbName, ...excluded, '--archive', '--gzip'];
    const tool = startTool(plan.mongodump, args, 'pipe');
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const stop = () => tool.child.kill('SIGKILL');
    let writeError: unknown;
    const file = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
    const writing = pipeline(tool.child.stdout as NodeJS.ReadableStream, tap, file).catch(
      (error) => {
        writeError = error;
        stop();
      },
    );
    plan.signal?.addEventListener('abort', stop, { once: true });
    const code = await tool.exited;
    plan.signal?.removeEventListener('abort', stop);
    await writing;
    throwIfAborted(plan.signal);
    if (writeError) throw fileSystemError(`writing ${partial}`, writeError);
    if (code !== 0) {
      const reason = redactSecrets(tool.failureLine(), plan.uri);
      const unreachable =
        /server selection|connection refused|no reachable servers|authentication failed/i;
      const kind = unreachable.test(reason) ? 'unreachable' : 'dump-failed';
      throw new BackupError(kind, `mongodump exited with ${code}: ${reason}`);
    }
    await sync(partial, 'r+');
    return hash.digest('hex');
  });
}

async function sync(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function buildManifest(plan: DumpPlan, summary: ArchiveSummary): Manifest {
  const finishedAt = plan.now();
  const changelogDocs = summary.decoded[CHANGELOG_COLLECTION] ?? [];
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
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
      .map(({ name, documents, indexes }) => ({
        name,
        documents,
        indexes: indexes.map((i) => String(i.name)),
      }))
      .sort(byName),
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

/**
 * Creates BACKUP_DIR (0700) if it is missing and checks that this user may write in it. A folder
 * this user cannot create or write is one line naming the folder, the user and the fix: the
 * service user cannot create /var/backups/<app> itself, root creates it once for it.
 */
async function prepareBackupFolder(dir: string): Promise<void> {
  const denied = (error: unknown) => ['EACCES', 'EPERM'].includes(String(errnoOf(error)));
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${process.getuid?.() ?? '?'}`; // a container's arbitrary uid has no name
  }
  await makeFolders(dir).catch((error) => {
    if (!denied(error)) throw fileSystemError(`creating ${dir}`, error);
    throw new BackupError(
      'io-error',
      `the backup folder ${dir} does not exist and user ${user} cannot create it (${errnoOf(error)}): create it once as root: install -d -m 0700 -o ${user} ${dir}`,
    );
  });
  await access(dir, constants.W_OK | constants.X_OK).catch((error) => {
    if (!denied(error)) throw fileSystemError(`checking ${dir}`, error);
    throw new BackupError(
      'io-error',
      `the backup folder ${dir} is not writable by user ${user}: as root, chown ${user} ${dir} && chmod 0700 ${dir} (or set BACKUP_DIR to a folder ${user} owns)`,
    );
  });
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException).code;

/**
 * mkdir -p, one level at a time. Not `mkdir(dir, {recursive: true})`: Node 24's loops for ever,
 * at full CPU, on a path the kernel will not create (BACKUP_DIR=/proc/self/x).
 */
async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let path = dir; dirname(path) !== path; path = dirname(path)) {
    const exists = await stat(path).then(
      () => true,
      (error) => (errnoOf(error) === 'ENOENT' ? false : Promise.reject(error)),
    );
    if (exists) break;
    missing.unshift(path);
  }
  for (const path of missing) {
    await mkdir(path, { mode: 0o700 }).catch((error) => {
      if (errnoOf(error) !== 'EEXIST') throw error; // another command created it meanwhile
    });
  }
}
