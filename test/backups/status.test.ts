import { writeFile } from 'node:fs/promises';
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
        `^ok: newest good backup ${newest} finished .*, 25\\.0 h old \\(threshold 26 h\\)`,
      ),
    );
  });

  it('exits 17 with one line when the newest backup is older than the threshold', async () => {
    await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 27 * HOUR));
    const run = await status();
    expect(run.code).toBe(17);
    expect(run.stderr).toMatch(
      /^backup:status: newest good backup is 27\.0 h old \(threshold 26 h\): .*\n$/,
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
    expect(run.stderr).toBe(`backup:status: no good backup of microblog in ${dir.path}\n`);
  });

  it('does not count a newer backup whose archive is damaged or gone', async () => {
    const old = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - 30 * HOUR));
    const truncated = await fakeBackup(dir.path, 'microblog', new Date(Date.now() - HOUR));
    await writeFile(truncated, 'short');
    await writeFile(manifestPathFor(old).replace('microblog-', 'microblog-x'), 'not json');

    await expect(
      backupStatus({ dir: dir.path, database: 'microblog', maxAgeHours: 26 }),
    ).rejects.toMatchObject({
      code: 'backup-too-old',
    });
    const result = await backupStatus({ dir: dir.path, database: 'microblog', maxAgeHours: 31 });
    expect(result.newest.archivePath).toBe(old);
    expect(result.skipped.map((s) => s.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/archive is 5 bytes, the manifest says/)]),
    );
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
