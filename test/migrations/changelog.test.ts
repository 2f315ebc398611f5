import { beforeEach, describe, expect, it } from 'vitest';
import { readMigrationLock } from '../../src/migrations/lock.ts';
import { migrateUp } from '../../src/migrations/runner.ts';
import {
  ALL_MIGRATIONS,
  changelogNames,
  migrate,
  outputLines,
  quietRun,
  useMigrationDb,
} from './helpers.ts';

// Derived from migrations/, never named: adding a migration must not break these tests.
const NEWEST = ALL_MIGRATIONS.at(-1) as string;
const SECOND_NEWEST = ALL_MIGRATIONS.at(-2) as string;

describe('a changelog that cannot lie', { timeout: 180_000 }, () => {
  const t = useMigrationDb('changelog');
  beforeEach(async () => {
    await migrateUp(t.target, quietRun());
  });

  const duplicate = async (fileName: string) => {
    await t.db
      .collection('changelog')
      .insertOne({ fileName, appliedAt: new Date(), migrationBlock: Date.now() });
  };

  it('a duplicate entry: status and check exit 1 naming it, down refuses and changes nothing', async () => {
    await duplicate(NEWEST);
    const usersBefore = await t.db.collection('users').indexes();

    const status = await migrate(t, ['status']);
    const check = await migrate(t, ['check']);
    const down = await migrate(t, ['down']);

    for (const result of [status, check]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`duplicate changelog entry: ${NEWEST} is recorded 2 times`);
      expect(outputLines(result.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^migrate: the changelog cannot be trusted: duplicate changelog entry: ${NEWEST}.*repair --dry-run`,
          ),
        ),
      ]);
    }
    expect(down.code).toBe(1);
    expect(outputLines(down.stderr)).toEqual([
      `migrate: the changelog records ${NEWEST} more than once; repair it first: npm run migrate -- repair --dry-run, then repair (exit 1)`,
    ]);
    expect(await t.db.collection('users').indexes()).toEqual(usersBefore);
    expect(await t.db.collection('changelog').countDocuments({ fileName: NEWEST })).toBe(2);
  });

  it('repair --dry-run lists what it would remove and changes nothing; repair removes it; then status is 0', async () => {
    await duplicate(NEWEST);
    await duplicate(SECOND_NEWEST);
    await duplicate(SECOND_NEWEST);

    const dryRun = await migrate(t, ['repair', '--dry-run']);
    const countAfterDryRun = await t.db.collection('changelog').countDocuments();
    const repair = await migrate(t, ['repair']);
    const status = await migrate(t, ['status']);

    expect(dryRun.code).toBe(0);
    expect(
      outputLines(dryRun.stdout).filter((l) => l.startsWith('would remove changelog entry')),
    ).toHaveLength(3);
    expect(outputLines(dryRun.stdout).at(-1)).toBe('dry run: would remove 3 changelog entries');
    expect(countAfterDryRun).toBe(ALL_MIGRATIONS.length + 3);
    expect(repair.code).toBe(0);
    expect(outputLines(repair.stdout).at(-1)).toBe('removed 3 changelog entries');
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
    expect(status.code).toBe(0);
    expect(await readMigrationLock(t.db)).toBeUndefined();
  });

  it('an unknown entry: status and current exit 1 naming it; repair keeps it unless --forget-unknown', async () => {
    const ghost = '29991231000000-from-a-newer-branch.js';
    await duplicate(ghost);

    const status = await migrate(t, ['status']);
    const current = await migrate(t, ['current']);
    const kept = await migrate(t, ['repair']);
    const forgot = await migrate(t, ['repair', '--forget-unknown']);

    for (const result of [status, current]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`unknown changelog entry: ${ghost} is not in migrations/`);
    }
    expect(kept.stdout).toMatch(new RegExp(`^kept ${ghost}: not in migrations/`, 'm'));
    expect(forgot.code).toBe(0);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
    expect((await migrate(t, ['status'])).code).toBe(0);
  });
});

describe('the commands Alembic users reach for', { timeout: 180_000 }, () => {
  const t = useMigrationDb('alembic');

  it('history lists every migration file oldest first with what it does, the newest marked (head)', async () => {
    const history = await migrate(t, ['history'], { MONGODB_URI: 'mongodb://127.0.0.1:1/' });

    expect(history.code).toBe(0);
    const rows = outputLines(history.stdout);
    expect(rows.map((row) => row.split(' ')[0])).toEqual(ALL_MIGRATIONS);
    expect(rows.at(-1)).toMatch(new RegExp(`^${NEWEST} \\(head\\)  \\S`));
    for (const row of rows) expect(row).toMatch(/\.js( \(head\))? {2}\S.*\.$/);
  });

  it('up --steps 1 applies the oldest pending one; current names it and what is left', async () => {
    const base = await migrate(t, ['current']);
    const one = await migrate(t, ['up', '--steps', '1']);
    const current = await migrate(t, ['current']);

    expect(outputLines(base.stdout)).toEqual([
      `base: nothing applied (${ALL_MIGRATIONS.length} pending)`,
    ]);
    expect(one.code).toBe(0);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS.slice(0, 1));
    expect(outputLines(current.stdout)).toEqual([
      `${ALL_MIGRATIONS[0]} (${ALL_MIGRATIONS.length - 1} pending)`,
    ]);
    await migrateUp(t.target, quietRun());
    expect(outputLines((await migrate(t, ['current'])).stdout)).toEqual([`${NEWEST} (head)`]);
  });

  it('up --dry-run and down --dry-run print the plan (files, steps, the backup) and change nothing', async () => {
    await migrateUp(t.target, quietRun({ to: SECOND_NEWEST }));

    const up = await migrate(t, ['up', '--dry-run']);
    const down = await migrate(t, ['down', '--steps', '2', '--dry-run']);

    expect(up.code).toBe(0);
    expect(outputLines(up.stdout)).toEqual([
      'dry run: would apply 1 migrations, in this order:',
      `  1. ${NEWEST}`,
      `backup before migrating: skipped, ${t.name} is a test database`,
    ]);
    expect(down.code).toBe(0);
    expect(outputLines(down.stdout)).toEqual([
      'dry run: would roll back 2 migrations, in this order:',
      `  1. ${SECOND_NEWEST}`,
      `  2. ${ALL_MIGRATIONS.at(-3)}`,
      `backup before migrating: skipped, ${t.name} is a test database`,
    ]);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS.slice(0, -1));
  });

  it('stamp <file> marks migrations applied without running them, with a warning; stamp base forgets them', async () => {
    const stamped = await migrate(t, ['stamp', SECOND_NEWEST]);
    const collections = await t.db.listCollections({}, { nameOnly: true }).toArray();
    const back = await migrate(t, ['stamp', 'base', '--dry-run']);

    expect(stamped.code).toBe(0);
    expect(outputLines(stamped.stdout)[0]).toMatch(
      /^warning: stamp records migrations as applied or pending without running them/,
    );
    expect(outputLines(stamped.stdout)).toContain(`marking ${SECOND_NEWEST} applied (not run)`);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS.slice(0, -1));
    // Nothing ran: no migration created its collection.
    expect(collections.map((c) => c.name)).not.toContain('users');
    expect(back.code).toBe(0);
    expect(outputLines(back.stdout)).toContain(
      `would mark ${SECOND_NEWEST} pending (its down is not run)`,
    );
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS.slice(0, -1));
    expect((await migrate(t, ['stamp', 'no-such-file'])).code).toBe(1);
  });

  it('indexes refuses while migrations are pending: they build their own indexes', async () => {
    await migrateUp(t.target, quietRun({ to: SECOND_NEWEST }));
    const before = await t.db.collection('users').indexes();

    const refused = await migrate(t, ['indexes']);

    expect(refused.code).toBe(1);
    expect(outputLines(refused.stderr)).toEqual([
      `migrate: 1 pending migrations (${NEWEST}): run \`npm run migrate -- up\` first, it builds their indexes (exit 1)`,
    ]);
    expect(await t.db.collection('users').indexes()).toEqual(before);
  });
});
