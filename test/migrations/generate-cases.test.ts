import { readFileSync } from 'node:fs';
import { Schema } from 'mongoose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateMigration, recordModelState } from '../../src/migrations/generate.ts';
import { probeValidators } from '../../src/migrations/migration-kit.ts';
import { migrateDown, migrateUp } from '../../src/migrations/runner.ts';
import { modelsOf } from './fixtures/generate-models.ts';
import { checkFailures, scratchMigrationsDir, typeErrors } from './generate-helpers.ts';
import { changelogNames, quietRun, useMigrationDb } from './helpers.ts';

const note = (definition: Record<string, unknown>, options: Record<string, unknown> = {}) =>
  new Schema(definition, { collection: 'notes', versionKey: false, ...options });

const BASE = { title: { type: String, required: true }, words: { type: Number } };

describe('generate, the cases that need the author', { timeout: 120_000 }, () => {
  const t = useMigrationDb('gencases', 'describe');
  let scratch: ReturnType<typeof scratchMigrationsDir>;
  const run = () => quietRun({ migrationsDir: scratch.dir });
  const log: string[] = [];

  beforeEach(async () => {
    scratch = scratchMigrationsDir('cases');
    log.length = 0;
    // Start from notes as they are, with one document, recorded as applied.
    const base = await generateMigration({
      name: 'notes',
      models: modelsOf({ Note: note(BASE) }),
      migrationsDir: scratch.dir,
      log: () => {},
    });
    expect(base.file).toBeDefined();
    await migrateUp(t.target, run());
    await t.db.collection('notes').insertOne({ title: 'first', words: 3 });
  });
  afterEach(async () => {
    await migrateDown(t.target, quietRun({ migrationsDir: scratch.dir, to: 'base' }));
    await t.db.collection('changelog').deleteMany({});
    scratch.remove();
  });

  const generate = (schema: Schema, extra: { validators?: 'error' | 'warn' | 'off' } = {}) =>
    generateMigration({
      name: 'change',
      models: modelsOf({ Note: schema }),
      migrationsDir: scratch.dir,
      log: (line) => log.push(line),
      ...extra,
    });

  it('a new required field without a default: a marked step, and up fails until it is written', async () => {
    const result = await generate(note({ ...BASE, author: { type: String, required: true } }));

    expect(result.manual).toEqual([
      'a value for the new required field notes.author in existing documents',
    ]);
    expect(log).toContain('1 steps to write by hand before it runs (marked TODO(generate)):');
    const source = readFileSync(result.file as string, 'utf8');
    expect(source).toContain('// TODO(generate): give every notes document without author a value');
    expect(source).toContain('unwrittenStep(');
    expect(typeErrors(result.file as string)).toEqual([]);
    await expect(migrateUp(t.target, run())).rejects.toThrow(
      /this migration has a step to write by hand: a value for the required notes\.author/,
    );
    expect(await changelogNames(t.db)).toHaveLength(1);
  });

  it('a changed type: a marked step both ways, never a guessed conversion', async () => {
    const result = await generate(note({ ...BASE, words: { type: String } }));

    expect(result.manual).toEqual(['convert notes.words from Number to String']);
    const source = readFileSync(result.file as string, 'utf8');
    expect(source).toContain('a changed type is never converted by guesswork');
    expect(source).not.toMatch(/\$set|\$convert|\$toString/);
    expect(source.match(/unwrittenStep\(/g)).toHaveLength(2);
    expect(typeErrors(result.file as string)).toEqual([]);
    await expect(migrateUp(t.target, run())).rejects.toThrow(/convert notes\.words/);
    expect(await t.db.collection('notes').findOne({}, { projection: { _id: 0 } })).toEqual({
      title: 'first',
      words: 3,
    });
  });

  it('a removed and an added field are not guessed to be a rename: the note says to write it by hand', async () => {
    const { words: _words, ...rest } = BASE;
    const result = await generate(note({ ...rest, wordCount: { type: Number, default: 0 } }));

    expect(result.manual).toEqual([]);
    const source = readFileSync(result.file as string, 'utf8');
    expect(source).toMatch(
      /notes: words removed and wordCount added\. If that is a rename, write it/,
    );
    expect(
      log.some((line) => line.startsWith('note: notes: words removed and wordCount added')),
    ).toBe(true);
    await migrateUp(t.target, run());
    // As written (and as the note warns): the values are dropped, the new field gets its default.
    expect(await t.db.collection('notes').findOne({}, { projection: { _id: 0 } })).toEqual({
      title: 'first',
      wordCount: 0,
    });
    expect(
      await checkFailures(
        t,
        modelsOf({ Note: note({ ...rest, wordCount: { type: Number, default: 0 } }) }),
        scratch.dir,
      ),
    ).toEqual([]);
  });

  it('a removed model: up drops the collection, down recreates it and its indexes, empty', async () => {
    const other = new Schema({ name: String }, { collection: 'others', versionKey: false });
    other.index({ name: 1 }, { unique: true });
    await generateMigration({
      name: 'others',
      models: modelsOf({ Note: note(BASE), Other: other }),
      migrationsDir: scratch.dir,
      log: () => {},
    });
    await migrateUp(t.target, run());

    const result = await generate(note(BASE));
    const source = readFileSync(result.file as string, 'utf8');
    expect(source).toMatch(/the backup `up` makes first is the way back to the documents/);
    await migrateUp(t.target, run());
    expect(await t.db.listCollections({ name: 'others' }).toArray()).toEqual([]);
    await migrateDown(t.target, run());
    const indexes = await t.db.collection('others').indexes();
    expect(indexes.map((i) => [i.name, Boolean(i.unique)])).toEqual([
      ['_id_', false],
      ['name_1', true],
    ]);
  });

  it('--validators warn: a $jsonSchema validator, installed where the server has them, else skipped with the reason', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const result = await generate(note(BASE), { validators: 'warn' });
      const source = readFileSync(result.file as string, 'utf8');
      expect(source).toContain('await setValidator(');
      expect(source).toContain("required: ['title']");
      expect(source).toContain("{ validationAction: 'warn' }");
      expect(typeErrors(result.file as string)).toEqual([]);

      await migrateUp(t.target, run());

      const probe = await probeValidators(t.db);
      const [info] = await t.db.listCollections({ name: 'notes' }).toArray();
      const options = (info as { options?: { validator?: unknown; validationAction?: string } })
        .options;
      if (probe.supported) {
        expect(options?.validationAction).toBe('warn');
        expect(options?.validator).toMatchObject({ $jsonSchema: { required: ['title'] } });
      } else {
        console.log(`validators skipped here: ${probe.reason}`);
        expect(stderr).toHaveBeenCalledWith(
          expect.stringMatching(
            /^\S+Z notes: \$jsonSchema validator skipped: the server has no collMod validators/,
          ),
        );
        expect(options?.validator).toBeUndefined();
      }
      await migrateDown(t.target, run());
      const [after] = await t.db.listCollections({ name: 'notes' }).toArray();
      const validator = (after as { options?: { validator?: object } }).options?.validator;
      expect(validator === undefined || Object.keys(validator).length === 0).toBe(true);
    } finally {
      stderr.mockRestore();
    }
    // The setting is recorded: the next change of the fields updates the validator.
    const next = await generate(note({ ...BASE, tags: { type: [String] } }));
    expect(readFileSync(next.file as string, 'utf8')).toContain('tags: { bsonType: [');
  });

  it('snapshot after a hand-written migration records the models, and check then passes', async () => {
    const models = modelsOf({ Note: note({ ...BASE, slug: { type: String } }) });
    expect((await checkFailures(t, models, scratch.dir))[0]).toMatch(
      /^model changed without a migration: notes: new field slug/,
    );

    const recorded = recordModelState({ models, migrationsDir: scratch.dir, log: () => {} });

    expect(recorded).toHaveLength(1);
    expect(await checkFailures(t, models, scratch.dir)).toEqual([]);
  });
});
