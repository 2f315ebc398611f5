import { createHash } from 'node:crypto';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BSON, type MongoClient } from 'mongodb';
import { ConnectionString } from 'mongodb-connection-string-url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Manifest, manifestPathFor, readManifest } from '../../src/backups/manifest.ts';
import { runRestore } from '../../src/backups/restore.ts';
import type { Database } from '../../src/db/connection.ts';
import { dropTestDatabase, dropTestDb, openTestDatabase, testDbName } from '../helpers/db.ts';
import { startProcess } from '../helpers/process.ts';
import { archivePathFrom, findTools, runScript, seedSource, tempDir } from './helpers.ts';

const tools = findTools();
if ('missing' in tools) console.warn(`skipping backup/restore tests: ${tools.missing}`);

describe.skipIf('missing' in tools)('npm run backup, then restore', () => {
  let source: Database;
  let client: MongoClient;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let seeded: Record<string, number>;
  let archivePath: string;
  let manifest: Manifest;
  const created: string[] = [];

  beforeAll(async () => {
    source = await openTestDatabase('backup_src');
    client = source.connection.getClient();
    seeded = await seedSource(source);
    dir = await tempDir('restore');
    const run = await runScript('backup', [], {
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: source.connection.name,
      BACKUP_DIR: dir.path,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    archivePath = archivePathFrom(run.stdout);
    manifest = await readManifest(manifestPathFor(archivePath));
  }, 60_000);

  afterAll(async () => {
    for (const name of created) await dropTestDb(client, name);
    if (source) await dropTestDatabase(source);
    await dir?.remove();
  });

  const restoreTarget = (label: string) => {
    const name = testDbName(label);
    created.push(name);
    return name;
  };

  it('prints the path of a <db>-<UTC timestamp>.archive.gz in BACKUP_DIR, readable only by its owner', async () => {
    expect(basename(archivePath)).toMatch(
      new RegExp(`^${source.connection.name}-\\d{8}T\\d{6}\\.\\d{3}Z\\.archive\\.gz$`),
    );
    expect(archivePath.startsWith(dir.path)).toBe(true);
    expect((await stat(archivePath)).mode & 0o777).toBe(0o600);
    expect((await stat(manifestPathFor(archivePath))).mode & 0o777).toBe(0o600);
  });

  it('writes a manifest with the per-collection counts, SHA-256, size, migrations, server and tool', async () => {
    const bytes = await readFile(archivePath);
    expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(manifest.sizeBytes).toBe(bytes.length);
    const counts = Object.fromEntries(manifest.collections.map((c) => [c.name, c.documents]));
    // Collections other models create (empty here) are in the archive too.
    const expected = Object.fromEntries(
      Object.keys(counts).map((name) => [name, seeded[name] ?? 0]),
    );
    expect(counts).toEqual(expected);
    expect(counts).toMatchObject(seeded);
    expect(manifest.collections.find((c) => c.name === 'users')?.indexes).toEqual(
      expect.arrayContaining(['_id_', 'username_1', 'email_1']),
    );
    expect(manifest.changelog).toMatchObject({ collection: 'changelog', present: true });
    expect(manifest.changelog.migrations.map((m) => m.fileName)).toEqual([
      '20250101000000-initial.js',
      '20250301000000-add-tags.js',
    ]);
    expect(manifest.server.engine).toBe(source.capabilities.engine);
    expect(manifest.server.version).toBe(source.capabilities.serverVersion);
    expect(manifest.tool.version).not.toBe('');
    expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
    expect(manifest.database).toBe(source.connection.name);
  });

  it('restores into another database with every document identical and the indexes in place', async () => {
    const target = restoreTarget('restored');
    const result = await runRestore({ uri: inject('mongoUri'), archivePath, toDb: target });
    expect(result.indexesBuiltSeparately).toBe(source.capabilities.engine === 'ferretdb');
    for (const name of Object.keys(seeded)) {
      expect(await dump(client, target, name), name).toEqual(
        await dump(client, source.connection.name, name),
      );
    }
    const userIndexes = await client.db(target).collection('users').indexes();
    const unique = userIndexes.filter((i) => i.unique).map((i) => i.name);
    expect(unique).toEqual(expect.arrayContaining(['username_1', 'email_1']));
  });

  it('restores with plain mongorestore too', async () => {
    if ('missing' in tools) return;
    const target = restoreTarget('plain');
    // Plain use as documented: the server's URI without a database path (mongorestore restores
    // into the URI's database and ignores --nsTo otherwise, and MONGODB_URI often names one);
    // FerretDB v1 needs --noIndexRestore (docs/backups.md).
    const serverUri = new ConnectionString(inject('mongoUri'));
    serverUri.pathname = '/';
    const args = [
      `--uri=${serverUri.toString()}`,
      `--archive=${archivePath}`,
      '--gzip',
      `--nsFrom=${source.connection.name}.*`,
      `--nsTo=${target}.*`,
      ...(source.capabilities.engine === 'ferretdb' ? ['--noIndexRestore'] : []),
    ];
    const restored = await startProcess(tools.mongorestore, args, { env: {} }).done;
    expect(restored.code, restored.stderr).toBe(0);
    for (const name of Object.keys(seeded)) {
      expect(await dump(client, target, name), name).toEqual(
        await dump(client, source.connection.name, name),
      );
    }
  });

  it('refuses to restore over a database that holds data unless --drop is given, then replaces it', async () => {
    const target = restoreTarget('occupied');
    await client.db(target).collection('users').insertOne({ username: 'someone-else' });

    const refused = await runScript('restore', [archivePath, '--to', target], {
      MONGODB_URI: inject('mongoUri'),
    });
    expect(refused.code).toBe(13);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/already holds data .*--drop/);
    expect(await client.db(target).collection('users').countDocuments()).toBe(1);

    await runRestore({ uri: inject('mongoUri'), archivePath, toDb: target, drop: true });
    expect(await dump(client, target, 'users')).toEqual(
      await dump(client, source.connection.name, 'users'),
    );
  });

  it('refuses a corrupted archive before touching the database (exit 11, one line)', async () => {
    const copy = await tempDir('corrupt');
    try {
      const damaged = join(copy.path, basename(archivePath));
      await copyFile(archivePath, damaged);
      await copyFile(manifestPathFor(archivePath), manifestPathFor(damaged));
      const bytes = await readFile(damaged);
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
      await writeFile(damaged, bytes);
      const target = restoreTarget('corrupt');

      const run = await runScript('restore', [damaged, '--to', target], {
        MONGODB_URI: inject('mongoUri'),
      });

      expect(run.code).toBe(11);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^restore: checksum mismatch/);
      expect(await client.db(target).listCollections().toArray()).toEqual([]);
    } finally {
      await copy.remove();
    }
  });

  it('fails (exit 10) before connecting when the archive holds other counts than the manifest says', async () => {
    const copy = await tempDir('miscount');
    try {
      const moved = join(copy.path, basename(archivePath));
      await copyFile(archivePath, moved);
      const claimed = {
        ...manifest,
        collections: manifest.collections.map((c) =>
          c.name === 'posts' ? { ...c, documents: c.documents + 1 } : c,
        ),
      };
      await writeFile(manifestPathFor(moved), JSON.stringify(claimed));
      const target = restoreTarget('miscount');

      const run = await runScript('restore', [moved, '--to', target], {
        MONGODB_URI: inject('mongoUri'),
      });

      expect(run.code).toBe(10);
      expect(run.stderr).toMatch(/posts: 6 documents, manifest says 7/);
      expect(await client.db(target).listCollections().toArray()).toEqual([]);
    } finally {
      await copy.remove();
    }
  });
});

/** A collection's documents in _id order as canonical Extended JSON: types must survive too. */
async function dump(client: MongoClient, db: string, collection: string): Promise<string[]> {
  const docs = await client
    .db(db)
    .collection(collection)
    .find({}, { sort: { _id: 1 } })
    .toArray();
  return docs.map((doc) => BSON.EJSON.stringify(doc, { relaxed: false }));
}
