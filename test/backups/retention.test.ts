import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isoWeek, planRetention, pruneBackups } from '../../src/backups/retention.ts';
import { fakeBackup, runScript, tempDir } from './helpers.ts';

const at = (iso: string) => ({ id: iso, time: new Date(iso) });

describe('planRetention', () => {
  it('never deletes any of the newest `last` backups, even three of one day with one daily place', () => {
    const items = [
      at('2026-03-10T18:00:00Z'),
      at('2026-03-10T12:00:00Z'),
      at('2026-03-10T06:00:00Z'),
      at('2026-03-10T01:00:00Z'),
    ];
    const plan = planRetention(items, { daily: 1, weekly: 0, monthly: 0, last: 3 });
    expect(plan.keep.map((k) => k.item.id)).toEqual(items.slice(0, 3).map((i) => i.id));
    expect(plan.keep[2]?.reasons).toEqual(['among the newest 3']);
    expect(plan.prune.map((i) => i.id)).toEqual(['2026-03-10T01:00:00Z']);
  });

  it('backups taken before migrations take none of the newest-N or daily places while kept', () => {
    const pre = (iso: string) => ({ ...at(iso), preMigration: true });
    const ordinary = at('2026-03-10T02:00:00Z');
    const items = [
      pre('2026-03-10T18:00:00Z'),
      pre('2026-03-10T17:00:00Z'),
      pre('2026-03-10T16:00:00Z'),
      ordinary,
      at('2026-03-09T02:00:00Z'),
    ];
    const plan = planRetention(
      items,
      { daily: 1, weekly: 0, monthly: 0, last: 1, preMigrationDays: 30 },
      new Date('2026-03-10T19:00:00Z'),
    );
    expect(plan.keep.map((k) => k.item.id)).toEqual(items.slice(0, 4).map((i) => i.id));
    expect(plan.keep[3]?.reasons).toEqual(['newest', 'daily 2026-03-10']);
    expect(plan.prune.map((i) => i.id)).toEqual(['2026-03-09T02:00:00Z']);
  });

  it('keeps a backup taken before a migration for preMigrationDays, then lets the counts decide', () => {
    const preMigration = { ...at('2026-03-01T10:00:00Z'), preMigration: true };
    const items = [at('2026-03-10T10:00:00Z'), at('2026-03-09T10:00:00Z'), preMigration];
    const policy = { daily: 1, weekly: 0, monthly: 0, last: 1, preMigrationDays: 10 };

    const within = planRetention(items, policy, new Date('2026-03-10T12:00:00Z'));
    const after = planRetention(items, policy, new Date('2026-03-12T12:00:00Z'));

    expect(within.keep.map((k) => k.item.id)).toEqual([items[0]?.id, preMigration.id]);
    expect(within.keep[1]?.reasons).toEqual(['taken before a migration (kept 10 days)']);
    expect(after.prune.map((i) => i.id)).toEqual([items[1]?.id, preMigration.id]);
  });

  it('keeps the newest backup per day, ISO week and month up to each count, newest first', () => {
    const items = [
      at('2026-03-10T14:00:00Z'), // Tuesday, W11: newest
      at('2026-03-10T02:00:00Z'), // same day, older: goes
      at('2026-03-09T02:00:00Z'), // Monday, W11: 2nd daily
      at('2026-03-08T02:00:00Z'), // Sunday, W10: 3rd daily, 2nd weekly
      at('2026-03-07T02:00:00Z'), // W10 again, dailies used up: goes
      at('2026-03-06T02:00:00Z'), // goes
      at('2026-02-15T02:00:00Z'), // February: 2nd monthly
      at('2026-01-20T02:00:00Z'), // monthlies used up: goes
    ];
    const plan = planRetention(items, { daily: 3, weekly: 2, monthly: 2 });
    expect(plan.keep.map((k) => k.item.id)).toEqual([
      '2026-03-10T14:00:00Z',
      '2026-03-09T02:00:00Z',
      '2026-03-08T02:00:00Z',
      '2026-02-15T02:00:00Z',
    ]);
    expect(plan.keep[0]?.reasons).toEqual([
      'newest',
      'daily 2026-03-10',
      'weekly 2026-W11',
      'monthly 2026-03',
    ]);
    expect(plan.prune.map((p) => p.id)).toEqual([
      '2026-03-10T02:00:00Z',
      '2026-03-07T02:00:00Z',
      '2026-03-06T02:00:00Z',
      '2026-01-20T02:00:00Z',
    ]);
  });

  it('with the default 7/4/12 over 400 nightly backups keeps 19 (the windows overlap)', () => {
    const start = Date.parse('2025-01-01T02:00:00Z');
    const items = Array.from({ length: 400 }, (_, i) =>
      at(new Date(start + i * 86_400_000).toISOString()),
    );
    const plan = planRetention(items, { daily: 7, weekly: 4, monthly: 12 });
    // Newest: Wednesday 2026-02-04. Weeks W06 and W05 and months 2026-02 and 2026-01 are
    // already held by daily keepers, so weekly adds 2 and monthly adds 10.
    expect(plan.keep.map((k) => k.item.id.slice(0, 10))).toEqual([
      ...['2026-02-04', '2026-02-03', '2026-02-02', '2026-02-01', '2026-01-31', '2026-01-30'],
      ...['2026-01-29', '2026-01-25', '2026-01-18', '2025-12-31', '2025-11-30', '2025-10-31'],
      ...['2025-09-30', '2025-08-31', '2025-07-31', '2025-06-30', '2025-05-31', '2025-04-30'],
      '2025-03-31',
    ]);
    expect(plan.prune).toHaveLength(400 - 19);
  });

  it('never drops the newest backup, even with every count at 0', () => {
    const plan = planRetention([at('2026-01-02T00:00:00Z'), at('2026-01-01T00:00:00Z')], {
      daily: 0,
      weekly: 0,
      monthly: 0,
    });
    expect(plan.keep.map((k) => k.item.id)).toEqual(['2026-01-02T00:00:00Z']);
  });

  it('numbers ISO weeks across year ends', () => {
    expect(isoWeek(new Date('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(isoWeek(new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2024-12-30T12:00:00Z'))).toBe('2025-W01');
  });
});

describe('pruning a folder of dated archives', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let archives: string[];
  beforeEach(async () => {
    dir = await tempDir('retention');
    archives = [];
    for (const day of ['2026-03-10', '2026-03-09', '2026-03-08', '2026-02-01', '2026-01-01']) {
      archives.push(await fakeBackup(dir.path, 'microblog', new Date(`${day}T02:00:00Z`)));
    }
    // Another database's backups in the same folder are never counted or touched.
    await fakeBackup(dir.path, 'other', new Date('2020-01-01T02:00:00Z'));
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('--dry-run lists what a backup now would delete and deletes nothing', async () => {
    const before = (await readdir(dir.path)).sort();
    const run = await runScript(
      'backup',
      [
        '--dry-run',
        '--keep-last',
        '1',
        '--keep-daily',
        '2',
        '--keep-weekly',
        '0',
        '--keep-monthly',
        '0',
      ],
      {
        MONGODB_DB: 'microblog',
        BACKUP_DIR: dir.path,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    // The backup a run would make now is the newest, and takes one of the two daily places.
    const listed = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('backup: would delete '))
      .map((l) => basename(l));
    expect(listed).toEqual(archives.slice(1).map((a) => basename(a)));
    expect((await readdir(dir.path)).sort()).toEqual(before);
  });

  it('deletes archive and manifest of what falls out, never the archive the run just wrote (clock skew)', async () => {
    const result = await pruneBackups({
      dir: dir.path,
      database: 'microblog',
      policy: { daily: 2, weekly: 0, monthly: 0 },
      protect: archives[4],
    });
    expect(result.pruned.map((p) => basename(p))).toEqual(
      [archives[2], archives[3]].map((a) => basename(a ?? '')),
    );
    const left = await readdir(dir.path);
    for (const gone of result.pruned) expect(left).not.toContain(basename(gone));
    expect(left).toContain(basename(archives[4] ?? ''));
    expect(left.filter((n) => n.startsWith('other-'))).toHaveLength(2);
  });

  it('prunes nothing when the backup fails', async () => {
    const before = (await readdir(dir.path)).sort();
    const run = await runScript(
      'backup',
      ['--keep-daily', '0', '--keep-weekly', '0', '--keep-monthly', '0'],
      {
        MONGODB_URI: 'mongodb://127.0.0.1:1/',
        MONGODB_SERVER_SELECTION_TIMEOUT_MS: '300',
        MONGODB_DB: 'microblog',
        BACKUP_DIR: dir.path,
      },
    );
    expect(run.code).toBe(5);
    expect((await readdir(dir.path)).filter((n) => n !== '.backup.lock').sort()).toEqual(before);
  });
});
