import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inspectArchive } from '../../src/backups/archive-reader.ts';
import { type BackupResult, runBackup } from '../../src/backups/backup.ts';
import { manifestPathFor } from '../../src/backups/manifest.ts';
import type { Database } from '../../src/db/connection.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';
import { findTools, runScript, seedSource, tempDir } from './helpers.ts';

const tools = findTools();
if ('missing' in tools) console.warn(`skipping backup:verify tests: ${tools.missing}`);

describe.skipIf('missing' in tools)('npm run backup:verify and the archive checks', () => {
  let source: Database;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backup: BackupResult;
  let seeded: Record<string, number>;

  beforeAll(async () => {
    source = await openTestDatabase('verify_src');
    seeded = await seedSource(source);
    dir = await tempDir('verify');
    backup = await runBackup({
      uri: inject('mongoUri'),
      dbName: source.connection.name,
      dir: dir.path,
    });
  }, 60_000);
  afterAll(async () => {
    if (source) await dropTestDatabase(source);
    await dir?.remove();
  });

  const databases = async () =>
    (await source.connection.getClient().db('admin').admin().listDatabases()).databases.map(
      (d) => d.name,
    );
  const env = () => ({
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: source.connection.name,
    BACKUP_DIR: dir.path,
  });

  it('restores the newest backup into a scratch database, matches the manifest, drops the scratch database', async () => {
    const run = await runScript('backup-verify', [], env());
    expect(run.code, run.stderr).toBe(0);
    const scratch = /restored into (\S+), dropped/.exec(run.stdout)?.[1];
    expect(run.stdout).toContain(`verified ${backup.archivePath}: `);
    expect(run.stdout).toContain('and 2 migrations match the manifest');
    expect(scratch).toMatch(new RegExp(`^${source.connection.name}_verify_[0-9a-f]{8}$`));
    expect(await databases()).not.toContain(scratch);
  });

  it('fails (exit 15) when the restored migrations differ from the manifest, and still drops the scratch database', async () => {
    const copy = await tempDir('verify-migrations');
    try {
      const archive = join(copy.path, basename(backup.archivePath));
      await copyFile(backup.archivePath, archive);
      const manifest = JSON.parse(await readFile(manifestPathFor(backup.archivePath), 'utf8'));
      manifest.changelog.migrations.push({ fileName: '20990101000000-future.js', appliedAt: null });
      await writeFile(manifestPathFor(archive), JSON.stringify(manifest));

      const run = await runScript('backup-verify', [archive], env());

      expect(run.code).toBe(15);
      expect(run.stderr).toMatch(
        /^backup:verify: restored migrations .* differ from the manifest .*20990101000000-future\.js/,
      );
      const scratch = (await databases()).filter((name) =>
        name.startsWith(`${source.connection.name}_verify_`),
      );
      expect(scratch).toEqual([]);
    } finally {
      await copy.remove();
    }
  });

  it('exits 16 when the folder holds no backup of the database', async () => {
    const empty = await tempDir('verify-empty');
    try {
      const run = await runScript('backup-verify', [], { ...env(), BACKUP_DIR: empty.path });
      expect(run.code).toBe(16);
    } finally {
      await empty.remove();
    }
  });

  it('reads the archive to the end: counts per collection, and damage is a corrupt-archive error', async () => {
    const summary = await inspectArchive(backup.archivePath, ['changelog']);
    expect(summary.sha256).toBe(backup.manifest.sha256);
    expect(Object.fromEntries(summary.collections.map((c) => [c.name, c.documents]))).toMatchObject(
      seeded,
    );
    expect(summary.decoded.changelog).toHaveLength(2);

    const bytes = await readFile(backup.archivePath);
    const truncated = join(dir.path, 'truncated.archive.gz');
    await writeFile(truncated, bytes.subarray(0, bytes.length - 40));
    await expect(inspectArchive(truncated)).rejects.toMatchObject({ code: 'corrupt-archive' });

    const notAnArchive = join(dir.path, 'other.archive.gz');
    await writeFile(notAnArchive, gzipSync(Buffer.from('{"just": "json"}')));
    await expect(inspectArchive(notAnArchive)).rejects.toThrow(/not a mongodump archive/);
  });
});
