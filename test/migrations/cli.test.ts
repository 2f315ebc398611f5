import { describe, expect, it } from 'vitest';
import { readMigrationLock } from '../../src/migrations/lock.ts';
import { migrateUp } from '../../src/migrations/runner.ts';
import { startProcess } from '../helpers/process.ts';
import {
  ALL_MIGRATIONS,
  appliedByEither,
  changelogNames,
  M,
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

describe('the migration commands', { timeout: 180_000 }, () => {
  const t = useMigrationDb('cli');

  it('plain `npx migrate-mongo status` and `up` run through the runner with the root config', async () => {
    const env = { LOG_LEVEL: 'silent', MONGODB_URI: t.uri, MONGODB_DB: t.name };

    const npx = (args: string[]) => startProcess('npx', ['--no-install', ...args], { env }).done;
    const status = await npx(['migrate-mongo', 'status']);
    const up = await npx(['migrate-mongo', 'up']);

    expect(status.code).toBe(0);
    for (const name of ALL_MIGRATIONS)
      expect(status.stdout).toMatch(new RegExp(`pending +${name}`));
    expect(up.code).toBe(0);
    expect(up.stdout.match(/^applied \S+\.js/gm)).toEqual(
      ALL_MIGRATIONS.map((n) => `applied ${n}`),
    );
    const check = await migrate(t, ['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`all ${ALL_MIGRATIONS.length} migrations applied`);
  });

  it('plain `npx migrate-mongo down -b` rolls back the newest run, through the runner', async () => {
    await migrateUp(t.target, quietRun({ to: M.posts }));
    await migrateUp(t.target, quietRun());
    const env = { LOG_LEVEL: 'silent', MONGODB_URI: t.uri, MONGODB_DB: t.name };

    const down = await startProcess('npx', ['--no-install', 'migrate-mongo', 'down', '-b'], { env })
      .done;

    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`rolled back ${ALL_MIGRATIONS.length - 2} migrations`);
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts]);
  });

  it('check exits 1 and lists what is pending, then 0 once everything is applied', async () => {
    await migrateUp(t.target, quietRun({ to: M.rename }));

    const pending = await migrate(t, ['check']);

    expect(pending.code).toBe(1);
    const left = ALL_MIGRATIONS.slice(3);
    expect(pending.stdout.trim().split('\n')).toEqual(left.map((n) => `pending: ${n}`));
    expect(outputLines(pending.stderr)).toEqual([
      `migrate: ${left.length} pending migrations on ${t.name}: ${left.join(', ')} (exit 1)`,
    ]);
    await migrateUp(t.target, quietRun());
    expect((await migrate(t, ['check'])).code).toBe(0);
  });

  it('up refuses a pending migration older than the latest applied one, unless allowed', async () => {
    await migrateUp(t.target, quietRun());
    // As if the rename had been merged from another branch after the later ones were applied.
    await t.db.collection('changelog').deleteOne({ fileName: M.rename });

    const refused = await migrate(t, ['up']);

    expect(refused.code).toBe(1);
    expect(outputLines(refused.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^migrate: refusing to apply ${M.rename}: older than the latest applied migration ${ALL_MIGRATIONS.at(-1)}`,
        ),
      ),
    ]);
    expect(await changelogNames(t.db)).not.toContain(M.rename);
    expect((await migrate(t, ['check'])).code).toBe(1);

    const allowed = await migrate(t, ['up', '--allow-out-of-order']);

    expect(allowed.code).toBe(0);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
  });

  it('a lock held by a live run elsewhere: up fails clearly, unlock needs --force while it looks alive', async () => {
    // A holder on another host: its liveness cannot be checked from here.
    await t.db.collection('migrations_lock').insertOne({
      _id: 'migrate' as never,
      token: 'other',
      holder: { host: 'web-2', pid: 4242, command: 'migrate up' },
      acquiredAt: new Date(),
      heartbeatAt: new Date(),
    });

    const blocked = await migrate(t, ['up', '--wait', '0']);
    const gentle = await migrate(t, ['unlock']);
    const forced = await migrate(t, ['unlock', '--force']);
    const finished = await migrate(t, ['up']);

    expect(blocked.code).toBe(1);
    expect(outputLines(blocked.stderr)).toEqual([
      expect.stringMatching(
        /^migrate: another migration run holds the lock \(held by "migrate up", pid 4242 on web-2.*npm run migrate -- unlock` \(exit 1\)$/,
      ),
    ]);
    expect(gentle.code).toBe(1);
    expect(gentle.stderr).toMatch(/the lock looks alive .*unlock --force/);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^cleared the migration lock \(held by "migrate up"/);
    expect(finished.code).toBe(0);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
  });

  it('SIGINT stops up at a batch boundary: exit 1, one line, nothing recorded, lock released', async () => {
    await migrateUp(t.target, quietRun({ to: M.posts }));
    await seedUsers(t.db, 1000, 'nickname');
    const run = startMigrate(t, ['up'], { MIGRATION_BATCH_SIZE: '100' });
    await run.waitFor(/users\.nickname -> username: \d+\/1000/);

    run.child.kill('SIGINT');
    const result = await run.done;

    expect(result.code).toBe(1);
    expect(outputLines(result.stderr).at(-1)).toBe(
      `migrate: up ${M.rename} failed, not recorded (run it again once fixed): interrupted by SIGINT (exit 1)`,
    );
    expect(await readMigrationLock(t.db)).toBeUndefined();
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts]);
    expect(
      await t.db.collection('users').countDocuments({ nickname: { $exists: true } }),
    ).toBeGreaterThan(0);
  });

  it(
    'two concurrent `up` commands: each migration is applied by exactly one of them',
    async () => {
      await prepareRace(t);

      const [a, b] = await Promise.all([
        migrate(t, ['up'], RACE_WAIT),
        migrate(t, ['up'], RACE_WAIT),
      ]);

      expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
      expect(appliedByEither(a.stdout, b.stdout)).toEqual(
        ALL_MIGRATIONS.slice(2).map((n) => `applied ${n}`),
      );
      const entries = await t.db.collection('changelog').find().toArray();
      expect(entries).toHaveLength(ALL_MIGRATIONS.length);
    },
    WHOLE_HISTORY_MS,
  );

  it('bad input changes nothing: unknown flags and names exit 2 with one line', async () => {
    const wrongFlag = await migrate(t, ['up', '--block']);
    const badName = await migrate(t, ['create', 'Add Tags']);
    const unknownTarget = await migrate(t, ['up', '--to', 'no-such-migration']);

    expect(wrongFlag.code).toBe(2);
    expect(outputLines(wrongFlag.stderr)).toEqual([
      'migrate: up does not take --block (npm run migrate -- help) (exit 2)',
    ]);
    expect(badName.code).toBe(2);
    expect(outputLines(badName.stderr)).toHaveLength(1);
    expect(unknownTarget.code).toBe(1);
    expect(unknownTarget.stderr).toMatch(/no migration named no-such-migration/);
    expect(await changelogNames(t.db)).toEqual([]);
  });
});
