import { readdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Db } from 'mongodb';
import type { Model } from 'mongoose';
import { type Change, describeChange, diffStates } from './diff.ts';
import { formatLikeTheRepository } from './format.ts';
import { liveIndexReport } from './live-indexes.ts';
import { probeValidators } from './migration-kit.js';
import {
  extractModelState,
  type ModelState,
  readModelState,
  type ValidationAction,
  writeModelState,
} from './model-state.ts';
import { renderMigration } from './render.ts';
import { MIGRATIONS_DIR, projectRoot } from './settings.ts';

export interface GenerateOptions {
  name: string;
  models: Model<unknown>[];
  migrationsDir?: string;
  /** Install (error/warn) or remove (off) $jsonSchema validators; unset: as recorded. */
  validators?: ValidationAction | 'off';
  /** The live database, when one is reachable: its indexes are compared with the models'. */
  db?: Db;
  log: (line: string) => void;
  now?: Date;
}

export interface GenerateResult {
  /** The migration written, or undefined when nothing changed. */
  file?: string;
  changes: Change[];
  /** Steps the author must write before the migration can run. */
  manual: string[];
}

const KIT = join(projectRoot, 'src/migrations/migration-kit.js');

/** Diffs the models against the recorded state and writes the migration and the new state. */
export async function generateMigration(options: GenerateOptions): Promise<GenerateResult> {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  const { log } = options;
  const recorded = readModelState(dir);
  const target = targetState(options.models, recorded, options.validators);
  const changes = diffStates(recorded, target);
  if (options.db) await reportDatabase(options.db, target, log);
  if (changes.length === 0) {
    log('no changes: the models match migrations/model-state.json; nothing written');
    return { changes, manual: [] };
  }
  const fileName = `${timestamp(options.now ?? new Date(), dir)}-${options.name}.js`;
  const file = join(dir, fileName);
  const rendered = renderMigration(changes, {
    name: options.name,
    command: `npm run migrate -- generate ${options.name}`,
    kitImport: kitImport(dir),
  });
  writeFileSync(file, formatLikeTheRepository(rendered.source, file), { flag: 'wx' });
  writeModelState({ ...target, recordedBy: fileName }, dir);
  log(`${changes.length} changes:`);
  for (const change of changes) log(`  ${describeChange(change)}`);
  for (const note of rendered.notes) log(`note: ${note}`);
  log(
    `wrote ${relative(projectRoot, file)} and ${relative(projectRoot, join(dir, 'model-state.json'))}`,
  );
  if (rendered.manual.length > 0) {
    log(`${rendered.manual.length} steps to write by hand before it runs (marked TODO(generate)):`);
    for (const step of rendered.manual) log(`  ${step}`);
  }
  log('review it, then: npm run migrate -- up, down, up (on a copy of the data)');
  return { file, changes, manual: rendered.manual };
}

/**
 * Records the models' state without writing a migration: after a hand-written migration (a
 * rename, a conversion) that brought the data to the models' shape.
 */
export function recordModelState(options: {
  models: Model<unknown>[];
  migrationsDir?: string;
  log: (line: string) => void;
}): Change[] {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  const recorded = readModelState(dir);
  const target = targetState(options.models, recorded, undefined);
  const changes = diffStates(recorded, target);
  const newest = migrationFiles(dir).at(-1);
  writeModelState(newest ? { ...target, recordedBy: newest } : target, dir);
  for (const change of changes) options.log(`recorded: ${describeChange(change)}`);
  if (newest) options.log(`recorded as the state ${newest} leaves`);
  options.log(
    changes.length > 0
      ? `recorded ${changes.length} changes in ${relative(projectRoot, join(dir, 'model-state.json'))}`
      : 'the recorded state already matches the models',
  );
  return changes;
}

/** The migration files in order (what migrate-mongo runs). */
export function migrationFiles(dir = MIGRATIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => /^\d{14}-.*\.js$/.test(name))
    .sort();
}

/**
 * Why the recorded state cannot be trusted, or undefined: it names a migration that is not in
 * migrations/ (deleted to be written by hand, say), so no migration builds what it records.
 */
export function unrecordedState(migrationsDir = MIGRATIONS_DIR): string | undefined {
  const { recordedBy } = readModelState(migrationsDir);
  if (!recordedBy || migrationFiles(migrationsDir).includes(recordedBy)) return undefined;
  return (
    `migrations/model-state.json was recorded by ${recordedBy}, which is not in migrations/: ` +
    'no migration builds what it records. Generate it again (`npm run migrate -- generate <name>` ' +
    'after restoring the previous model-state.json), or after a hand-written migration run ' +
    '`npm run migrate -- snapshot`'
  );
}

/** What differs between the models and the recorded state (what `check` fails on). */
export function modelDrift(models: Model<unknown>[], migrationsDir = MIGRATIONS_DIR): Change[] {
  const recorded = readModelState(migrationsDir);
  return diffStates(recorded, targetState(models, recorded, undefined));
}

/** The models' state, with validators as asked or else as recorded. */
function targetState(
  models: Model<unknown>[],
  recorded: ModelState,
  validators: ValidationAction | 'off' | undefined,
): ModelState {
  const state = extractModelState(models);
  for (const [name, collection] of Object.entries(state.collections)) {
    const validator =
      validators === undefined
        ? recorded.collections[name]?.validator
        : validators === 'off'
          ? undefined
          : { validationAction: validators };
    if (validator) collection.validator = validator;
  }
  return state;
}

async function reportDatabase(db: Db, target: ModelState, log: (line: string) => void) {
  const lines = await liveIndexReport(db, target);
  log(
    lines.length > 0
      ? `the database ${db.databaseName} differs from the models (pending migrations, or changes made by hand):`
      : `the database ${db.databaseName} has the models' indexes`,
  );
  for (const line of lines) log(`  ${line}`);
  if (Object.values(target.collections).some((c) => c.validator)) {
    const probe = await probeValidators(db);
    if (!probe.supported) log(`validators will be skipped on this server: ${probe.reason}`);
  }
}

/** yyyyMMddHHmmss in UTC (as migrate-mongo names files), after every existing migration. */
function timestamp(now: Date, dir: string): string {
  let stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  const latest = readdirSync(dir)
    .filter((name) => /^\d{14}-.*\.js$/.test(name))
    .map((name) => name.slice(0, 14))
    .sort()
    .at(-1);
  if (latest && stamp <= latest) stamp = String(BigInt(latest) + 1n);
  return stamp;
}

function kitImport(dir: string): string {
  const path = relative(dir, KIT).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}
