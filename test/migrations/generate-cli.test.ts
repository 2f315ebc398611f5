import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/migrations/settings.ts';
import { type MigrationTestDb, migrate, openMigrationDb } from './helpers.ts';

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('npm run migrate -- generate and snapshot', { timeout: 120_000 }, () => {
  let t: MigrationTestDb;
  const before = readdirSync(MIGRATIONS_DIR).sort();
  beforeAll(async () => {
    t = await openMigrationDb('gencli');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('with the models as recorded, writes nothing and says so; a reachable database is compared', async () => {
    const result = await migrate(t, ['generate', 'nothing-changed']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`the database ${t.name} differs from the models`);
    expect(result.stdout).toContain('users: no such collection in the database');
    expect(lines(result.stdout).at(-1)).toBe(
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
    expect(lines(result.stdout)[0]).toMatch(
      /^no database reachable \(.+\): the live indexes are not compared$/,
    );
    expect(lines(result.stdout).at(-1)).toMatch(/^no changes/);
  });

  it('refuses a bad name, an unknown --validators value and arguments to snapshot (exit 2)', async () => {
    const bad = await migrate(t, ['generate', 'Add_Bio', '--no-db']);
    const action = await migrate(t, ['generate', 'add-bio', '--validators', 'loud', '--no-db']);
    const snapshot = await migrate(t, ['snapshot', 'extra']);

    expect([bad.code, action.code, snapshot.code]).toEqual([2, 2, 2]);
    expect(lines(bad.stderr)).toEqual([
      'migrate: migration names are kebab-case (add-user-bio), not Add_Bio (npm run migrate -- help)',
    ]);
    expect(lines(action.stderr)[0]).toMatch(/--validators takes error, warn or off, not loud/);
    expect(lines(snapshot.stderr)[0]).toMatch(/snapshot takes no arguments, not extra/);
    expect(readdirSync(MIGRATIONS_DIR).sort()).toEqual(before);
  });

  it('help lists generate and snapshot', async () => {
    const help = await migrate(t, ['help']);

    expect(help.stdout).toContain('generate <name> [--validators error|warn|off] [--no-db]');
    expect(help.stdout).toContain('snapshot');
  });
});
