import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireMigrationLock, readMigrationLock } from '../../src/migrations/lock.ts';
import { migrateUp, projectRoot } from '../../src/migrations/runner.ts';
import { archivePathFrom, findTools, runScript, tempDir } from '../backups/helpers.ts';
import { dropTestDb, testDbName } from '../helpers/db.ts';
import { startProcess } from '../helpers/process.ts';
import {
  ALL_MIGRATIONS,
  appliedByEither,
  changelogNames,
  M,
  type MigrationTestDb,
  migrate,
  outputLines,
  prepareRace,
  quietRun,
  RACE_WAIT,
  seedUsers,
  startMigrate,
  useMigrationDb,
  WHOLE_HISTORY_MS,
} from './helpers.ts';

const migrateMongoBin = join(projectRoot, 'node_modules/migrate-mongo/bin/migrate-mongo.js');

/** The plain `npx migrate-mongo <args>` (its bin run by node, as npx does, without npx's start-up). */
function plainMigrateMongo(t: MigrationTestDb, args: string[], env: Record<string, string> = {}) {
  return startProcess(process.execPath, [migrateMongoBin, ...args], {
    env: { LOG_LEVEL: 'silent', MONGODB_URI: t.uri, MONGODB_DB: t.name, ...env },
  });
}

/** `npm run migrate -- <args> 2>&1 | <reader>` in bash; prints the runner's exit status last. */
function migratePipedTo(t: MigrationTestDb, args: string[], reader: string) {
  const runner = [process.execPath, 'scripts/migrate.ts', ...args].join(' ');
  return startProcess(
    'bash',
    ['-c', `${runner} 2>&1 | ${reader}; echo "runner exit \${PIPESTATUS[0]}" >&2`],
    {
      env: {
        LOG_LEVEL: 'silent',
        MONGODB_URI: t.uri,
        MONGODB_DB: t.name,
        MIGRATION_BATCH_SIZE: '100',
      },
      detached: true,
    },
  );
}

describe('one migration lock for every way of running migrations', { timeout: 180_000 }, () => {
  const t = useMigrationDb('onelock');

  it(
    'plain `npx migrate-mongo up` racing `npm run migrate -- up`: each migration is applied once',
    async () => {
      await prepareRace(t);

      const [plain, ours] = await Promise.all([
        plainMigrateMongo(t, ['up'], RACE_WAIT).done,
        migrate(t, ['up'], RACE_WAIT),
      ]);

      expect([plain.code, ours.code], plain.stderr + ours.stderr).toEqual([0, 0]);
      expect(appliedByEither(plain.stdout, ours.stdout)).toEqual(
        ALL_MIGRATIONS.slice(2).map((n) => `applied ${n}`),
      );
      const entries = await t.db.collection('changelog').find().toArray();
      expect(entries.map((e) => e.fileName).sort()).toEqual(ALL_MIGRATIONS);
      expect(await readMigrationLock(t.db)).toBeUndefined();
    },
    WHOLE_HISTORY_MS,
  );

  it('plain `npx migrate-mongo up` waits for a held lock and names its holder', async () => {
    const held = await acquireMigrationLock(t.db, { command: 'migrate up', waitMs: 0 });
    try {
      const blocked = await plainMigrateMongo(t, ['up'], { MIGRATION_LOCK_WAIT_SECONDS: '0' }).done;

      expect(blocked.code).toBe(1);
      expect(outputLines(blocked.stderr)).toEqual([
        expect.stringMatching(
          /^migrate-mongo: another migration run holds the lock \(held by "migrate up", pid \d+/,
        ),
      ]);
      expect(await changelogNames(t.db)).toEqual([]);
    } finally {
      await held.release();
    }
  });

  it(
    'the output pipe closed early (`| head -c 1`): the run still finishes, exit 0, and leaves no lock',
    async () => {
      await migrateUp(t.target, quietRun({ to: M.posts }));
      await seedUsers(t.db, 300, 'nickname');

      const run = await migratePipedTo(t, ['up'], 'head -c 1 >/dev/null').done;

      expect(outputLines(run.stderr).at(-1)).toBe('runner exit 0');
      expect(await readMigrationLock(t.db)).toBeUndefined();
      expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
    },
    WHOLE_HISTORY_MS,
  );

  it('Ctrl-C on `npm run migrate -- up 2>&1 | tee log` (SIGINT to both): exit 1, no lock left', async () => {
    await migrateUp(t.target, quietRun({ to: M.posts }));
    await seedUsers(t.db, 1000, 'nickname');
    const run = migratePipedTo(t, ['up'], 'tee /dev/null');
    await run.waitFor(/users\.nickname -> username: \d+\/1000/, 'stdout');

    // As a terminal's Ctrl-C does: the signal goes to the whole foreground process group.
    process.kill(-(run.child.pid as number), 'SIGINT');
    const result = await run.done;

    expect(outputLines(result.stderr).at(-1)).toMatch(/^runner exit (1|130)$/);
    expect(await readMigrationLock(t.db)).toBeUndefined();
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts]);
  });

  it(
    'a lock whose holder was killed on this host is taken over at once, with a log line',
    async () => {
      await migrateUp(t.target, quietRun({ to: M.posts }));
      await seedUsers(t.db, 200, 'nickname');
      const killed = startMigrate(t, ['up'], { MIGRATION_BATCH_SIZE: '10' });
      await killed.waitFor(/users\.nickname -> username: \d+\/200/);
      killed.child.kill('SIGKILL');
      await killed.done;
      expect((await readMigrationLock(t.db))?.holder.pid).toBe(killed.child.pid);

      const next = await migrate(t, ['up', '--wait', '0']);

      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout).toMatch(
        new RegExp(
          `^took over the migration lock of a process that is gone \\(held by "migrate up", pid ${killed.child.pid} `,
          'm',
        ),
      );
      expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
      expect(await readMigrationLock(t.db)).toBeUndefined();
    },
    WHOLE_HISTORY_MS,
  );

  it('an archive taken while a migration holds the lock has no lock in it: restoring it leaves none', async (ctx) => {
    const tools = findTools();
    if ('missing' in tools) {
      console.log(`skipped: ${tools.missing}`);
      ctx.skip();
    }
    await migrateUp(t.target, quietRun({ to: M.posts }));
    await seedUsers(t.db, 10, 'nickname');
    const dir = await tempDir('prelock');
    const target = testDbName('mig_restored');
    const env = { MONGODB_URI: t.uri, BACKUP_DIR: dir.path };
    try {
      // What `migrate up|down` does: the lock first, then the backup, then the migrations.
      const held = await acquireMigrationLock(t.db, { command: 'migrate down', waitMs: 0 });
      const backup = await runScript('backup', [], { ...env, MONGODB_DB: t.name });
      await held.release();
      expect(backup.code, backup.stderr).toBe(0);
      const archive = archivePathFrom(backup.stdout);

      const restored = await runScript('restore', [archive, '--to', target, '--drop'], env);

      expect(restored.code, restored.stderr).toBe(0);
      const copy = t.client.db(target);
      expect(await copy.collection('migrations_lock').countDocuments()).toBe(0);
      expect(await readMigrationLock(copy)).toBeUndefined();
      expect(await changelogNames(copy)).toEqual([M.users, M.posts]);
      expect(await copy.collection('users').countDocuments()).toBe(10);
    } finally {
      await dropTestDb(t.client, target);
      await dir.remove();
    }
  });
});
