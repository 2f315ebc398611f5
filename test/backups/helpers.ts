import { type ChildProcess, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Decimal128, Double, Int32, Long, type MongoClient, ObjectId, UUID } from 'mongodb';
import { archiveFileName, type Manifest, manifestPathFor } from '../../src/backups/manifest.ts';
import { locateTool } from '../../src/backups/tools.ts';
import type { Database } from '../../src/db/connection.ts';
import { projectRoot } from '../../src/process/project-root.ts';

const root = projectRoot;

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

export const testDbName = (label: string) => `test_${label}_${randomBytes(4).toString('hex')}`;

/** Drops a database by name, refusing anything not named like a test database. */
export async function dropTestDb(client: MongoClient, name: string): Promise<void> {
  if (!name.startsWith('test_')) throw new Error(`refusing to drop "${name}": not a test database`);
  await client.db(name).dropDatabase();
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs scripts/<name>.ts as cron would: a child process with only the environment given (plus
 * PATH/HOME), from a folder without a .env, so a developer's .env cannot leak in.
 */
export function runScript(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd = tmpdir(),
): Promise<CliRun> {
  return startScript(name, args, env, cwd).done;
}

/** runScript, with the child process at hand (to signal it). */
export function startScript(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd = tmpdir(),
): { child: ChildProcess; done: Promise<CliRun> } {
  // node with tsx's loader, as the npm scripts run them: the tsx CLI would stand between the
  // test's signal and the script (it SIGKILLs a child that does not confirm a signal in 30 ms).
  const tsxLoader = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
  let child: ChildProcess | undefined;
  const done = new Promise<CliRun>((resolveRun) => {
    child = execFile(
      process.execPath,
      ['--import', tsxLoader, join(root, 'scripts', `${name}.ts`), ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          NODE_ENV: 'test',
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        resolveRun({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
  if (!child) throw new Error('execFile returned no child');
  return { child, done };
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
