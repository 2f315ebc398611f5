import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestPathFor } from '../../src/backups/manifest.ts';
import { backupStatus } from '../../src/backups/status.ts';
import { fakeBackup, runScript, tempDir } from './helpers.ts';

const HOUR = 3_600_000;

describe('npm run backup:status', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir('status');
  });
  afterEach(async () => {
    await dir.remove();
  });

  const status = (args: string[] = []) =>
    runScript('backup-status', args, { MONGODB_DB: 'microblog', BACKUP_DIR: dir.path });

  it('exits 0 and prints the newest good backup when it is younger than 26 h', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 50 * HOUR));
    const newest = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 25 * HOUR));
    const run = await status();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^backup:status: ok: newest good backup ${newest} finished .*, 25\\.0 h old \\(threshold 26 h\\)`,
      ),
    );
  });

  it('exits 17 with one line when the newest backup is older than the threshold', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 27 * HOUR));
    const run = await status();
    expect(run.code).toBe(17);
    expect(run.stderr).toMatch(
      /^backup:status: age check failed: the newest backup is 27\.0 h old \(threshold 26 h\): .* \(exit 17\)\n$/,
    );
  });

  it('takes the threshold from --max-age-hours', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 2 * HOUR));
    expect((await status(['--max-age-hours', '1'])).code).toBe(17);
    expect((await status(['--max-age-hours', '3'])).code).toBe(0);
  });

  it('exits 16 when there is no backup at all', async () => {
    const run = await status();
    expect(run.code).toBe(16);
    expect(run.stderr).toBe(
      `backup:status: no good backup of microblog in ${dir.path} (exit 16)\n`,
    );
  });

  it('exits 11 naming the size check when the newest archive is shorter than its manifest says, though an older one is fine', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 3 * HOUR));
    const truncated = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - HOUR));
    await writeFile(truncated, 'short');

    const run = await status();

    expect(run.code).toBe(11);
    expect(run.stderr).toBe(
      `backup:status: size check failed for the newest backup ${truncated}: archive is 5 bytes, the manifest says ${(await readFile(manifestPathFor(truncated), 'utf8')).match(/"sizeBytes":(\d+)/)?.[1]} (exit 11)\n`,
    );
  });

  it('exits 11 naming the checksum check when the newest archive has its size but other bytes', async () => {
    const newest = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - HOUR));
    const bytes = await readFile(newest);
    bytes[3] = (bytes[3] ?? 0) ^ 0xff;
    await writeFile(newest, bytes);

    const run = await status();

    expect(run.code).toBe(11);
    expect(run.stderr).toMatch(
      /^backup:status: checksum check failed for the newest backup .*: SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64} \(exit 11\)\n$/,
    );
  });

  it('exits 11 when the newest archive is gone, and ignores manifests that are not JSON', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 3 * HOUR));
    const gone = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - HOUR));
    await rm(gone);
    await writeFile(join(dir.path, 'microblog-x.manifest.json'), 'not json');

    const run = await status();

    expect(run.code).toBe(11);
    expect(run.stderr).toMatch(/size check failed for the newest backup .*: archive .* is missing/);
    await expect(
      backupStatus({ dir: dir.path, database: 'microblog', maxAgeHours: 26 }),
    ).rejects.toMatchObject({ code: 'checksum-mismatch' });
  });

  it.each([
    [
      'is not valid JSON',
      (path: string) => writeFile(path, '{"truncated'),
      /is not valid JSON|JSON/,
    ],
    ['is missing', (path: string) => rm(path), /it has no manifest/],
  ])(
    'exits 12 with one stderr line when the newest manifest %s, though an older backup is good',
    async (_, spoil, why) => {
      await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 3 * HOUR));
      const newest = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - HOUR));
      await spoil(manifestPathFor(newest));

      const run = await status();

      expect(run.code).toBe(12);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`the newest backup ${newest} cannot be checked`);
      expect(lines[0]).toMatch(why);
      expect(run.stdout).not.toMatch(/ok:/);
    },
  );

  it('says the size and checksum match when they do', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - HOUR));
    const run = await status();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/size and SHA-256 match its manifest\n$/);
  });

  it('measures age from when the backup finished', async () => {
    const started = new Date('2026-01-01T00:00:00Z');
    await fakeBackup(dir.path, 'microblog', started, new Date('2026-01-01T02:00:00Z'));
    const result = await backupStatus({
      dir: dir.path,
      database: 'microblog',
      maxAgeHours: 26,
      now: new Date('2026-01-02T04:00:00Z'),
    });
    expect(result.ageHours).toBe(26);
  });
});
