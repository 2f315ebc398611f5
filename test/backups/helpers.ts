import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal128, Double, Int32, Long, ObjectId, UUID } from 'mongodb';
import { archiveFileName, type Manifest, manifestPathFor } from '../../src/backups/manifest.ts';
import { locateTool } from '../../src/backups/tools.ts';
import type { Database } from '../../src/db/connection.ts';
import { type ProcessResult, type RunningProcess, startTs, unstamped } from '../helpers/process.ts';

/** The real tools (PATH or .tools/bin), or why they are missing (the tests then skip, saying so). */
export function findTools(): { mongodump: string; mongorestore: string } | { missing: string } {
  try {
    return { mongodump: locateTool('mongodump'), mongorestore: locateTool('mongorestore') };
  } catch (error) {
    return { missing: (error as Error).message };
  }
}

export async function tempDir(label: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `backup-test-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Runs scripts/<name>.ts as cron would: only the environment given (plus PATH/HOME), from a
 * folder without a .env, so a developer's .env cannot leak in; killed after 60 s. `done` gives the
 * output without the time at the start of each line (test/backups/cron.test.ts checks it).
 */
export function startScript(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd = tmpdir(),
  user?: { uid: number; gid: number },
): RunningProcess {
  const run = startTs(`scripts/${name}.ts`, args, { env, cwd, timeoutMs: 60_000, user });
  return {
    ...run,
    done: run.done.then((result) => ({
      ...result,
      stdout: unstamped(result.stdout),
      stderr: unstamped(result.stderr),
    })),
  };
}

/** startScript, to the end. */
export function runScript(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd = tmpdir(),
  user?: { uid: number; gid: number },
): Promise<ProcessResult> {
  return startScript(name, args, env, cwd, user).done;
}

/** The archive path `npm run backup` prints on its first line ("backup: <path>"). */
export function archivePathFrom(stdout: string): string {
  return (unstamped(stdout).split('\n')[0] ?? '').replace(/^backup: /, '');
}

/**
 * Seeds users and posts through the models (as the app writes them), a migrate-mongo changelog,
 * and a collection of awkward BSON values that a lossy dump/restore would change.
 */
export async function seedSource(db: Database): Promise<Record<string, number>> {
  const users = await db.User.create(
    ['john', 'susan', 'maria'].map((username) => ({
      username,
      email: `${username}@example.com`,
      passwordHash: `hash-${username}`,
    })),
  );
  const posts = users.flatMap((user, i) =>
    Array.from({ length: i + 1 }, (_, n) => ({
      body: `post ${n} by ${user.username}`,
      author: user._id,
    })),
  );
  await db.Post.insertMany(posts);
  const raw = db.connection.getClient().db(db.connection.name);
  await raw.collection('changelog').insertMany([
    {
      fileName: '20250101000000-initial.js',
      appliedAt: new Date('2025-01-01T00:00:00Z'),
      migrationBlock: 1,
    },
    {
      fileName: '20250301000000-add-tags.js',
      appliedAt: new Date('2025-03-01T00:00:00Z'),
      migrationBlock: 2,
    },
  ]);
  await raw.collection<{ _id: unknown; [field: string]: unknown }>('oddities').insertMany([
    {
      _id: new ObjectId(),
      // FerretDB v1 has no Decimal128 (it drops the connection on one).
      ...(db.capabilities.engine === 'mongodb'
        ? { decimal: Decimal128.fromString('1234567890.123456789') }
        : {}),
      long: Long.fromString('9007199254740993'),
      int: new Int32(7),
      double: new Double(1),
      date: new Date('1969-07-20T20:17:40.123Z'),
      uuid: new UUID('0e8f1c0a-3b5d-4c3e-9f6a-2d1e0b7c9a11'),
      nested: { list: [1, 'two', { three: [3] }], empty: {} },
      unicode: 'grüße, 東京, 🙂',
      nothing: null,
    },
    { _id: 'string-id', bytes: Buffer.from([0, 1, 2, 255]) },
  ]);
  return { users: users.length, posts: posts.length, changelog: 2, oddities: 2 };
}

/** Writes a small archive file and a manifest that describes it, dated `startedAt`. */
export async function fakeBackup(
  dir: string,
  database: string,
  startedAt: Date,
  finishedAt = startedAt,
): Promise<string> {
  const archivePath = join(dir, archiveFileName(database, startedAt));
  const content = Buffer.from(`fake archive ${startedAt.toISOString()}`);
  await writeFile(archivePath, content);
  const manifest: Manifest = {
    formatVersion: 1,
    database,
    archive: archiveFileName(database, startedAt),
    sizeBytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    server: { engine: 'mongodb', version: '8.0.0', engineVersion: '8.0.0' },
    tool: { name: 'mongodump', version: 'test', path: '/bin/false' },
    collections: [{ name: 'users', documents: 1, indexes: ['_id_'] }],
    changelog: { collection: 'changelog', present: false, migrations: [] },
  };
  await writeFile(manifestPathFor(archivePath), JSON.stringify(manifest));
  return archivePath;
}
