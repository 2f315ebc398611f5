import { createHash } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BSON, type MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BackupResult, runBackup } from '../../src/backups/backup.ts';
import { type Manifest, manifestPathFor, readManifest } from '../../src/backups/manifest.ts';
import type { Database } from '../../src/db/connection.ts';
import { dropTestDatabase, dropTestDb, openTestDatabase, testDbName } from '../helpers/db.ts';
import { findTools, runScript, tempDir } from './helpers.ts';

const tools = findTools();
if ('missing' in tools) console.warn(`skipping restore safety tests: ${tools.missing}`);

/**
 * A restore must not destroy what it cannot replace: the target holds 50 posts and 1 user; the
 * archive (2,000 posts) is damaged, or mongorestore fails, and the target must stay as it was.
 */
describe.skipIf('missing' in tools)('npm run restore, when it cannot finish', () => {
  let source: Database;
  let client: MongoClient;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backup: BackupResult;
  let manifest: Manifest;
  const created: string[] = [];

  beforeAll(async () => {
    source = await openTestDatabase('safety_src');
    client = source.connection.getClient();
    const [author] = await source.User.create([
      { username: 'archived', email: 'archived@example.com', passwordHash: 'x' },
    ]);
    await source.Post.insertMany(
      Array.from({ length: 2000 }, (_, n) => ({
        body: `archived post ${n} ${createHash('sha256').update(String(n)).digest('hex')}`,
        author: author?._id,
      })),
    );
    dir = await tempDir('safety');
    backup = await runBackup({
      uri: inject('mongoUri'),
      dbName: source.connection.name,
      dir: dir.path,
    });
    manifest = backup.manifest;
  }, 120_000);

  afterAll(async () => {
    for (const name of created) await dropTestDb(client, name);
    if (source) await dropTestDatabase(source);
    await dir?.remove();
  });

  /** A database with 1 user and 50 posts, as the operator's live data. */
  async function liveTarget(label: string): Promise<string> {
    const name = testDbName(label);
    created.push(name);
    const db = client.db(name);
    const user = await db
      .collection('users')
      .insertOne({ username: 'live', email: 'live@example.com' });
    await db
      .collection('posts')
      .insertMany(
        Array.from({ length: 50 }, (_, n) => ({ body: `live post ${n}`, author: user.insertedId })),
      );
    return name;
  }

  const snapshot = async (name: string) => {
    const out: Record<string, string[]> = {};
    for (const collection of ['users', 'posts']) {
      const docs = await client
        .db(name)
        .collection(collection)
        .find({}, { sort: { _id: 1 } })
        .toArray();
      out[collection] = docs.map((doc) => BSON.EJSON.stringify(doc, { relaxed: false }));
    }
    return out;
  };
  const collectionNames = async (name: string) =>
    (await client.db(name).listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .sort();

  /**
   * The target's collections as they were, beside the migration lock's collection, empty: a
   * restore with --drop holds the live APIs' writes through that lock, as migrate commands do.
   */
  const expectOnlyTheLockAdded = async (name: string) => {
    expect(await collectionNames(name)).toEqual(['migrations_lock', 'posts', 'users']);
    expect(await client.db(name).collection('migrations_lock').countDocuments()).toBe(0);
  };

  /** A copy of the archive in a folder of its own, changed by `damage`, with its manifest. */
  async function copyOfArchive(damage?: (bytes: Buffer) => Buffer, rehash = false) {
    const copy = await tempDir('safety-copy');
    const archive = join(copy.path, basename(backup.archivePath));
    let bytes: Buffer = await readFile(backup.archivePath);
    if (damage) bytes = damage(bytes);
    await writeFile(archive, bytes);
    const described = rehash
      ? {
          ...manifest,
          sizeBytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        }
      : manifest;
    await writeFile(manifestPathFor(archive), JSON.stringify(described));
    return { archive, remove: copy.remove, dir: copy.path };
  }

  it('a truncated archive whose manifest was re-hashed to match: exit 10, the 50 posts untouched', async () => {
    const target = await liveTarget('truncated');
    const before = await snapshot(target);
    const { archive, remove } = await copyOfArchive(
      (b) => b.subarray(0, Math.floor(b.length * 0.6)),
      true,
    );
    try {
      expect((await readManifest(manifestPathFor(archive))).sha256).not.toBe(manifest.sha256);

      const run = await runScript('restore', [archive, '--to', target, '--drop'], {
        MONGODB_URI: inject('mongoUri'),
      });

      expect(run.code, run.stderr).toBe(10);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/restore: .*(truncated|not a valid gzip|ends)/);
      expect(await snapshot(target)).toEqual(before);
      expect(before.posts).toHaveLength(50);
      expect(await collectionNames(target)).toEqual(['posts', 'users']);
    } finally {
      await remove();
    }
  });

  it('an archive whose manifest claims more documents than it holds: exit 10 before anything is dropped', async () => {
    const target = await liveTarget('miscounted');
    const before = await snapshot(target);
    const copy = await copyOfArchive();
    try {
      const claimed = {
        ...manifest,
        collections: manifest.collections.map((c) =>
          c.name === 'posts' ? { ...c, documents: c.documents + 1 } : c,
        ),
      };
      await writeFile(manifestPathFor(copy.archive), JSON.stringify(claimed));

      const run = await runScript('restore', [copy.archive, '--to', target, '--drop'], {
        MONGODB_URI: inject('mongoUri'),
      });

      expect(run.code, run.stderr).toBe(10);
      expect(run.stderr).toMatch(/posts: 2000 documents, manifest says 2001.*nothing was restored/);
      expect(await snapshot(target)).toEqual(before);
    } finally {
      await copy.remove();
    }
  });

  it('mongorestore failing after it wrote everything: exit 14, the target as it was, nothing staged left', async () => {
    if ('missing' in tools) return;
    const target = await liveTarget('toolfail');
    const before = await snapshot(target);
    const copy = await copyOfArchive();
    try {
      const wrapper = join(copy.dir, 'failing-mongorestore');
      await writeFile(
        wrapper,
        `#!/bin/sh\n'${tools.mongorestore}' "$@"\necho "Failed: pretend the network dropped" >&2\nexit 1\n`,
      );
      await chmod(wrapper, 0o755);

      const run = await runScript('restore', [copy.archive, '--to', target, '--drop'], {
        MONGODB_URI: inject('mongoUri'),
        MONGORESTORE_PATH: wrapper,
      });

      expect(run.code, run.stderr).toBe(14);
      expect(run.stderr).toMatch(
        /mongorestore exited with 1: .*pretend the network dropped; the target was not changed/,
      );
      expect(await snapshot(target)).toEqual(before);
      await expectOnlyTheLockAdded(target);
    } finally {
      await copy.remove();
    }
  });

  it('mongorestore leaving a collection out although it exits 0: exit 15, the target as it was', async () => {
    if ('missing' in tools) return;
    const target = await liveTarget('partial');
    const before = await snapshot(target);
    const copy = await copyOfArchive();
    try {
      const wrapper = join(copy.dir, 'partial-mongorestore');
      await writeFile(
        wrapper,
        `#!/bin/sh\nexec '${tools.mongorestore}' "$@" '--nsExclude=*.posts'\n`,
      );
      await chmod(wrapper, 0o755);

      const run = await runScript('restore', [copy.archive, '--to', target, '--drop'], {
        MONGODB_URI: inject('mongoUri'),
        MONGORESTORE_PATH: wrapper,
      });

      expect(run.code, run.stderr).toBe(15);
      expect(run.stderr).toMatch(
        /posts: 0 documents, manifest says 2000.*the target was not changed/,
      );
      expect(await snapshot(target)).toEqual(before);
      await expectOnlyTheLockAdded(target);
    } finally {
      await copy.remove();
    }
  });

  it('a good archive with --drop replaces the archived collections and keeps the others', async () => {
    const target = await liveTarget('replaced');
    await client.db(target).collection('notes').insertOne({ text: 'not in the archive' });

    const run = await runScript('restore', [backup.archivePath, '--to', target, '--drop'], {
      MONGODB_URI: inject('mongoUri'),
    });

    expect(run.code, run.stderr).toBe(0);
    expect(await client.db(target).collection('posts').countDocuments()).toBe(2000);
    expect(await client.db(target).collection('users').countDocuments()).toBe(1);
    expect(await client.db(target).collection('notes').countDocuments()).toBe(1);
    expect(run.stdout).toContain(
      `note: ${target} also has collections the archive does not: notes`,
    );
    expect((await collectionNames(target)).filter((n) => n.startsWith('restoring_'))).toEqual([]);
  });

  it.each(['admin', 'local', 'config', 'Admin'])(
    '--to %s is refused (exit 2) and nothing is written there',
    async (system) => {
      const before = await collectionNames(system.toLowerCase());

      const run = await runScript('restore', [backup.archivePath, '--to', system, '--drop'], {
        MONGODB_URI: inject('mongoUri'),
      });

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(`refusing to restore into ${system}: admin, local and config`),
      );
      expect(await collectionNames(system.toLowerCase())).toEqual(before);
    },
  );
});
