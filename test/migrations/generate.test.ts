import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMigration } from '../../src/migrations/generate.ts';
import {
  liveIndexReport,
  type ModelState,
  readModelState,
} from '../../src/migrations/model-state.ts';
import { migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import { type FixtureStep, fixtureModels } from './fixtures/generate-models.ts';
import { checkFailures, scratchMigrationsDir, typeErrors } from './generate-helpers.ts';
import { quietRun, useMigrationDb } from './helpers.ts';

const PEOPLE = 60;
const BATCH = 25;

describe('generate, on a model fixture changed step by step', { timeout: 180_000 }, () => {
  const t = useMigrationDb('generate', 'describe');
  let scratch: ReturnType<typeof scratchMigrationsDir>;
  const run = () => quietRun({ migrationsDir: scratch.dir, batch: { batchSize: BATCH } });
  const people = () => t.db.collection('people');

  beforeAll(async () => {
    scratch = scratchMigrationsDir('steps');
  });
  afterAll(async () => {
    scratch.remove();
  });

  /**
   * The workflow for one model change: check fails, generate writes a file that type-checks, a
   * second generate writes nothing, check fails while it is pending, up applies it and check
   * passes, down restores the earlier indexes, up again. Returns the file's text; `after` and
   * `before` check the data in the new and the old shape.
   */
  async function changeModelsTo(
    step: FixtureStep,
    checks: { after: () => Promise<void>; before: () => Promise<void> },
  ): Promise<string> {
    const models = fixtureModels(step);
    const previous: ModelState = readModelState(scratch.dir);
    expect(await checkFailures(t, models, scratch.dir)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^model changed without a migration: /)]),
    );

    const result = await generateMigration({
      name: step,
      models,
      migrationsDir: scratch.dir,
      log: () => {},
    });

    expect(result.manual).toEqual([]);
    const file = result.file as string;
    expect(file).toMatch(new RegExp(`\\d{14}-${step}\\.js$`));
    expect(typeErrors(file)).toEqual([]);
    const again = await generateMigration({
      name: `${step}-again`,
      models,
      migrationsDir: scratch.dir,
      log: () => {},
    });
    expect(again.file).toBeUndefined();
    expect(scratch.files().filter((name) => name.includes(step))).toHaveLength(1);
    const fileName = file.split('/').at(-1) as string;
    expect(await checkFailures(t, models, scratch.dir)).toEqual([`pending: ${fileName}`]);

    expect(await migrateUp(t.target, run())).toEqual([fileName]);
    expect(await checkFailures(t, models, scratch.dir)).toEqual([]);
    expect(await liveIndexReport(t.db, readModelState(scratch.dir))).toEqual([]);
    await checks.after();

    expect(await migrateDown(t.target, run())).toEqual([fileName]);
    expect(await checkFailures(t, models, scratch.dir)).toEqual([`pending: ${fileName}`]);
    expect(await liveIndexReport(t.db, previous)).toEqual([]);
    await checks.before();

    expect(await migrateUp(t.target, run())).toEqual([fileName]);
    expect(await liveIndexReport(t.db, readModelState(scratch.dir))).toEqual([]);
    await checks.after();
    return readFileSync(file, 'utf8');
  }

  it('the first generate creates the collection and its indexes', async () => {
    const source = await changeModelsTo('base', {
      after: async () => {
        expect((await t.db.listCollections({ name: 'people' }).toArray()).length).toBe(1);
      },
      before: async () => {
        expect(await t.db.listCollections({ name: 'people' }).toArray()).toEqual([]);
      },
    });
    expect(source).toContain("await ensureCollection(db, 'people');");
    await people().insertMany(
      Array.from({ length: PEOPLE }, (_, i) => ({
        handle: `p${i}`,
        email: `p${i}@example.com`,
        ...(i % 2 === 0 ? { nickname: `n${i}` } : {}),
        legacy: i % 3 === 0 ? `kept${i}` : 'old',
      })),
    );
  });

  it('a new index: ensureIndexes up, dropIndexIfExists down', async () => {
    const source = await changeModelsTo('add-index', {
      after: async () => {},
      before: async () => {},
    });
    expect(source).toContain('nickname_1__id_-1');
    expect(source).toMatch(/dropIndexIfExists\(db, 'people', 'nickname_1__id_-1'\)/);
  });

  it('a new field with a default: a batched backfill, unset by down', async () => {
    const source = await changeModelsTo('add-field-with-default', {
      after: async () => {
        expect(await people().countDocuments({ level: 1 })).toBe(PEOPLE);
      },
      before: async () => {
        expect(await people().countDocuments({ level: { $exists: true } })).toBe(0);
        expect(await people().countDocuments()).toBe(PEOPLE);
      },
    });
    expect(source).toContain('updateInBatches');
    expect(source).toContain('update: { $set: { level: 1 } }');
    expect(source).toContain("update: { $unset: { level: '' } }");
  });

  it('a removed field: $unset in batches; down brings back its default, not the values', async () => {
    const source = await changeModelsTo('remove-field', {
      after: async () => {
        expect(await people().countDocuments({ legacy: { $exists: true } })).toBe(0);
      },
      before: async () => {
        // The documented loss: the old default is back on every person, the kept values are not.
        expect(await people().countDocuments({ legacy: 'old' })).toBe(PEOPLE);
      },
    });
    expect(source).toContain("update: { $unset: { legacy: '' } }");
    expect(source).toMatch(/down cannot bring the values back: the backup `up` makes first/);
  });

  it('a new model: its collection and unique index, dropped by down', async () => {
    const source = await changeModelsTo('add-model', {
      after: async () => {
        await t.db.collection('badges').insertOne({ name: 'first' });
        await expect(t.db.collection('badges').insertOne({ name: 'first' })).rejects.toMatchObject({
          code: 11000,
        });
      },
      before: async () => {
        expect(await t.db.listCollections({ name: 'badges' }).toArray()).toEqual([]);
      },
    });
    expect(source).toContain("await dropCollectionIfExists(db, 'badges');");
  });

  it('a changed unique option: replaced without a moment where a unique constraint is missing', async () => {
    const commands: string[] = [];
    const watched = await MongoClient.connect(t.uri, { monitorCommands: true });
    watched.on('commandStarted', (e) => {
      if (e.commandName === 'createIndexes') {
        const specs = e.command.indexes as { name: string; key: object; unique?: boolean }[];
        for (const s of specs) {
          // The driver sends keys as a Map (key order matters).
          const key = s.key instanceof Map ? Object.fromEntries(s.key) : s.key;
          commands.push(`create ${s.name} ${JSON.stringify(key)}${s.unique ? ' unique' : ''}`);
        }
      }
      if (e.commandName === 'dropIndexes') commands.push(`drop ${e.command.index}`);
    });
    const models = fixtureModels('change-unique');
    const result = await generateMigration({
      name: 'change-unique',
      models,
      migrationsDir: scratch.dir,
      log: () => {},
    });
    const fileName = (result.file as string).split('/').at(-1) as string;
    expect(typeErrors(result.file as string)).toEqual([]);
    try {
      const target = { client: watched, db: watched.db(t.name) };
      expect(await migrateUp(target, run())).toEqual([fileName]);
      const up = [...commands];
      commands.length = 0;
      await migrateDown(target, run());
      const down = [...commands];
      commands.length = 0;
      await migrateUp(target, run());

      // handle_1 was unique: a guard with the same fields keeps it enforced until the new one exists.
      expect(up.filter((c) => c.includes('handle'))).toEqual([
        'create handle_1_guard {"handle":-1} unique',
        'drop handle_1',
        'create handle_1 {"handle":1}',
        'drop handle_1_guard',
      ]);
      // email_1 becomes unique: guarded from the start (the data is checked before any drop).
      expect(up.filter((c) => c.includes('email'))).toEqual([
        'create email_1_guard {"email":-1} unique',
        'drop email_1',
        'create email_1 {"email":1} unique',
        'drop email_1_guard',
      ]);
      expect(down.filter((c) => c.includes('email'))).toEqual([
        'create email_1_guard {"email":-1} unique',
        'drop email_1',
        'create email_1 {"email":1}',
        'drop email_1_guard',
      ]);
    } finally {
      await watched.close();
    }
    expect(await checkFailures(t, models, scratch.dir)).toEqual([]);
    expect(await liveIndexReport(t.db, readModelState(scratch.dir))).toEqual([]);
    await people().insertOne({ handle: 'p1', email: 'another@example.com' });
    await expect(
      people().insertOne({ handle: 'other', email: 'p1@example.com' }),
    ).rejects.toMatchObject({ code: 11000 });
    const indexes = (await people().indexes()).map((i) => i.name).sort();
    expect(indexes).toEqual(['_id_', 'email_1', 'handle_1', 'nickname_1__id_-1']);
    const again = await generateMigration({
      name: 'again',
      models,
      migrationsDir: scratch.dir,
      log: () => {},
    });
    expect(again.file).toBeUndefined();
  });

  it('the scratch folder ends with one file per change and the recorded state of the last', () => {
    expect(scratch.files().map((name) => name.slice(15))).toEqual([
      'base.js',
      'add-index.js',
      'add-field-with-default.js',
      'remove-field.js',
      'add-model.js',
      'change-unique.js',
    ]);
    const state = JSON.parse(readFileSync(join(scratch.dir, 'model-state.json'), 'utf8'));
    expect(Object.keys(state.collections)).toEqual(['badges', 'people']);
    expect(state.collections.people.fields.legacy).toBeUndefined();
    expect(state.collections.people.fields.level).toEqual({
      type: 'Number',
      required: true,
      default: { value: 1 },
    });
  });
});
