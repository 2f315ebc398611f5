import { randomBytes } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrateUp, projectRoot } from '../../src/migrations/runner.ts';
import { runTs } from '../helpers/process.ts';
import {
  ALL_MIGRATIONS,
  type MigrationTestDb,
  migrate,
  openMigrationDb,
  outputLines,
  quietRun,
  useMigrationDb,
} from './helpers.ts';

describe('npm run migrate -- generate and snapshot', { timeout: 120_000 }, () => {
  const t = useMigrationDb('gencli', 'describe');
  const before = readdirSync(MIGRATIONS_DIR).sort();

  it('with the models as recorded, writes nothing and says so; a reachable database is compared', async () => {
    const result = await migrate(t, ['generate', 'nothing-changed']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`the database ${t.name} differs from the models`);
    expect(result.stdout).toContain('users: no such collection in the database');
    expect(outputLines(result.stdout).at(-1)).toBe(
      'no changes: the models match migrations/model-state.json; nothing written',
    );
    expect(readdirSync(MIGRATIONS_DIR).sort()).toEqual(before);
  });

  it('when no database is reachable, says so and goes on', async () => {
    const result = await migrate(t, ['generate', 'nothing-changed'], {
      MONGODB_URI: 'mongodb://127.0.0.1:1/',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '500',
    });

    expect(result.code).toBe(0);
    expect(outputLines(result.stdout)[0]).toMatch(
      /^no database reachable \(.+\): the live indexes are not compared$/,
    );
    expect(outputLines(result.stdout).at(-1)).toMatch(/^no changes/);
  });

  it('refuses a bad name, an unknown --validators value and arguments to snapshot (exit 2)', async () => {
    const bad = await migrate(t, ['generate', 'Add_Bio', '--no-db']);
    const action = await migrate(t, ['generate', 'add-bio', '--validators', 'loud', '--no-db']);
    const snapshot = await migrate(t, ['snapshot', 'extra']);

    expect([bad.code, action.code, snapshot.code]).toEqual([2, 2, 2]);
    expect(outputLines(bad.stderr)).toEqual([
      'migrate: migration names are kebab-case (add-user-bio), not Add_Bio (npm run migrate -- help) (exit 2)',
    ]);
    expect(outputLines(action.stderr)[0]).toMatch(
      /--validators takes error, warn or off, not loud/,
    );
    expect(outputLines(snapshot.stderr)[0]).toMatch(/snapshot takes no arguments, not extra/);
    expect(readdirSync(MIGRATIONS_DIR).sort()).toEqual(before);
  });

  it('help lists generate and snapshot', async () => {
    const help = await migrate(t, ['help']);

    expect(help.stdout).toContain('generate <name> [--validators error|warn|off] [--no-db]');
    expect(help.stdout).toContain('snapshot');
  });

  it('in a copy of the repository: a model change fails check, generate writes its migration, up makes check pass', async () => {
    const copy = repositoryCopyWithBio();
    try {
      await migrateUp(t.target, quietRun());
      const inCopy = inRepositoryCopy(copy, t);

      const drift = await inCopy(['check']);
      const generated = await inCopy(['generate', 'add-user-bio', '--no-db']);
      const pending = await inCopy(['check']);
      const up = await inCopy(['up']);
      const passing = await inCopy(['check']);

      expect(drift.code).toBe(1);
      expect(outputLines(drift.stdout)).toEqual([
        'model changed without a migration: users: new field bio (String, default "")',
        `all ${ALL_MIGRATIONS.length} migrations applied on ${t.name}, every declared index present`,
      ]);
      expect(outputLines(drift.stderr)).toEqual([
        'migrate: the models differ from migrations/model-state.json in 1 places: run `npm run migrate -- generate <name>`, or after a hand-written migration `npm run migrate -- snapshot` (exit 1)',
      ]);
      expect(generated.code).toBe(0);
      const file = readdirSync(join(copy, 'migrations')).find((n) =>
        n.endsWith('-add-user-bio.js'),
      );
      expect(file).toBeDefined();
      expect(pending.code).toBe(1);
      expect(outputLines(pending.stdout)).toEqual([`pending: ${file}`]);
      expect(up.code).toBe(0);
      expect(passing.code).toBe(0);
      expect(passing.stdout).toContain(`all ${ALL_MIGRATIONS.length + 1} migrations applied`);
      expect(await t.db.collection('users').countDocuments({ bio: { $exists: false } })).toBe(0);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('in a copy of the repository: a generated migration deleted (to be written by hand) fails check, naming it, until snapshot records the hand-written one', async () => {
    const copy = repositoryCopyWithBio();
    // A database of its own: the test above applied its own add-user-bio to the shared one.
    const own = await openMigrationDb('gencli_deleted');
    try {
      await migrateUp(own.target, quietRun());
      const inCopy = inRepositoryCopy(copy, own);
      const generated = await inCopy(['generate', 'add-user-bio', '--no-db']);
      const file = readdirSync(join(copy, 'migrations')).find((n) =>
        n.endsWith('-add-user-bio.js'),
      );
      rmSync(join(copy, 'migrations', file as string));

      const check = await inCopy(['check']);
      const created = await inCopy(['create', 'add-user-bio-by-hand']);
      const snapshot = await inCopy(['snapshot']);
      const pending = await inCopy(['check']);

      expect(generated.code).toBe(0);
      expect(check.code).toBe(1);
      expect(outputLines(check.stderr)).toEqual([
        `migrate: migrations/model-state.json was recorded by ${file}, which is not in migrations/: no migration builds what it records. Generate it again (\`npm run migrate -- generate <name>\` after restoring the previous model-state.json), or after a hand-written migration run \`npm run migrate -- snapshot\` (exit 1)`,
      ]);
      expect(created.code).toBe(0);
      expect(snapshot.code).toBe(0);
      expect(snapshot.stdout).toMatch(
        /^recorded as the state \d{14}-add-user-bio-by-hand\.js leaves$/m,
      );
      // Now only the hand-written migration is missing from the database, as it should be.
      expect(pending.code).toBe(1);
      expect(outputLines(pending.stdout)).toEqual([
        expect.stringMatching(/^pending: \d{14}-add-user-bio-by-hand\.js$/),
      ]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
      await own.drop();
    }
  });
});

/** A copy of the repository (node_modules linked) whose User model has a new field, bio. */
function repositoryCopyWithBio(): string {
  const copy = join(projectRoot, '.data', `repo-copy-${randomBytes(4).toString('hex')}`);
  for (const entry of [
    'src',
    'scripts',
    'migrations',
    'package.json',
    'tsconfig.json',
    'biome.json',
  ]) {
    cpSync(join(projectRoot, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(copy, 'node_modules'));
  const model = join(copy, 'src/users/model.ts');
  const source = readFileSync(model, 'utf8');
  const changed = source.replace(
    'passwordHash: { type: String, required: true },',
    "passwordHash: { type: String, required: true },\n    bio: { type: String, default: '' },",
  );
  expect(changed).not.toBe(source);
  writeFileSync(model, changed);
  return copy;
}

/** `npm run migrate -- <args>` of the copy, on the test database. */
function inRepositoryCopy(copy: string, t: MigrationTestDb) {
  return (args: string[]) =>
    runTs(join(copy, 'scripts/migrate.ts'), args, {
      env: { LOG_LEVEL: 'silent', MONGODB_URI: t.uri, MONGODB_DB: t.name },
    });
}
