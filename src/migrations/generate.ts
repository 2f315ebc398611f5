import { writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type Db, MongoClient } from 'mongodb';
import type { Model } from 'mongoose';
import type { Config } from '../config.ts';
import { ScriptError, UsageError } from '../process/script-error.ts';
import { redactSecrets } from '../shared/connection-string.ts';
import { type Change, describeChange, diffStates } from './diff.ts';
import { probeValidators } from './migration-kit.ts';
import {
  appModels,
  extractModelState,
  formatLikeTheRepository,
  liveIndexReport,
  type ModelState,
  modelStatePath,
  readModelState,
  type ValidationAction,
  writeModelState,
} from './model-state.ts';
import { renderMigration } from './render.ts';
import { MIGRATIONS_DIR, migrationFiles, projectRoot } from './runner.ts';

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

const KIT = join(projectRoot, 'src/migrations/migration-kit.ts');
const VALIDATORS = ['error', 'warn', 'off'];
const shown = (path: string) => relative(projectRoot, path);

/** Diffs the models against the recorded state and writes the migration and the new state. */
export async function generateMigration(
  options: GenerateOptions,
): Promise<{ file?: string; changes: Change[]; manual: string[] }> {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  const { log } = options;
  const { target, changes } = modelChanges(options.models, dir, options.validators);
  if (options.db) await reportDatabase(options.db, target, log);
  if (changes.length === 0) {
    log('no changes: the models match migrations/model-state.json; nothing written');
    return { changes, manual: [] };
  }
  const fileName = `${timestamp(options.now ?? new Date(), dir)}-${options.name}.js`;
  const file = join(dir, fileName);
  const kitImport = relative(dir, KIT).split(sep).join('/');
  const rendered = renderMigration(changes, {
    command: `npm run migrate -- generate ${options.name}`,
    kitImport: kitImport.startsWith('.') ? kitImport : `./${kitImport}`,
  });
  writeFileSync(file, formatLikeTheRepository(rendered.source, file), { flag: 'wx' });
  writeModelState({ ...target, recordedBy: fileName }, dir);
  log(`${changes.length} changes:`);
  for (const change of changes) log(`  ${describeChange(change)}`);
  for (const note of rendered.notes) log(`note: ${note}`);
  log(`wrote ${shown(file)} and ${shown(modelStatePath(dir))}`);
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
  const { target, changes } = modelChanges(options.models, dir);
  const newest = migrationFiles(dir).at(-1);
  writeModelState(newest ? { ...target, recordedBy: newest } : target, dir);
  for (const change of changes) options.log(`recorded: ${describeChange(change)}`);
  if (newest) options.log(`recorded as the state ${newest} leaves`);
  options.log(
    changes.length > 0
      ? `recorded ${changes.length} changes in ${shown(modelStatePath(dir))}`
      : 'the recorded state already matches the models',
  );
  return changes;
}

/** What differs between the models and the recorded state (what `check` fails on). */
export function modelDrift(models: Model<unknown>[], dir = MIGRATIONS_DIR): Change[] {
  return modelChanges(models, dir).changes;
}

/** The models' state (validators as asked, else as recorded) and how it differs from the record. */
function modelChanges(
  models: Model<unknown>[],
  dir: string,
  validators?: ValidationAction | 'off',
) {
  const recorded = readModelState(dir);
  const target = extractModelState(models);
  for (const [name, collection] of Object.entries(target.collections)) {
    const asked = validators === 'off' ? undefined : validators && { validationAction: validators };
    const validator = validators === undefined ? recorded.collections[name]?.validator : asked;
    if (validator) collection.validator = validator;
  }
  return { target, changes: diffStates(recorded, target) };
}

/**
 * Prints what differs between the models and the recorded state; returns the error `check` must
 * fail with, or undefined when they match (or the state is recorded by a migration that is gone).
 */
export function checkModelDrift(
  out: (line: string) => void,
  models = appModels(),
  dir = MIGRATIONS_DIR,
): Error | undefined {
  const drift = modelDrift(models, dir);
  const { recordedBy } = readModelState(dir);
  if (drift.length === 0 && recordedBy && !migrationFiles(dir).includes(recordedBy)) {
    const orphaned =
      `migrations/model-state.json was recorded by ${recordedBy}, which is not in migrations/: ` +
      'no migration builds what it records. Generate it again (`npm run migrate -- generate <name>` ' +
      'after restoring the previous model-state.json), or after a hand-written migration run ' +
      '`npm run migrate -- snapshot`';
    out(`model state recorded by no migration: ${orphaned}`);
    return new ScriptError('model-state-unrecorded', orphaned);
  }
  if (drift.length === 0) return undefined;
  for (const change of drift) out(`model changed without a migration: ${describeChange(change)}`);
  return new ScriptError(
    'models-changed-without-migration',
    `the models differ from migrations/model-state.json in ${drift.length} places: ` +
      'run `npm run migrate -- generate <name>`, or after a hand-written migration ' +
      '`npm run migrate -- snapshot`',
  );
}

/** generate <name> [--validators error|warn|off] [--no-db] */
export async function generateCommand(
  args: string[],
  flags: { validators?: string; 'no-db'?: boolean },
  c: { out: (line: string) => void; config: () => Config; serverUri: () => Promise<string> },
): Promise<number> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0)
    throw new UsageError('generate takes one name, e.g. generate add-bio');
  assertKebabCase(name);
  const validators = flags.validators as ValidationAction | 'off' | undefined;
  if (validators !== undefined && !VALIDATORS.includes(validators)) {
    throw new UsageError(`--validators takes error, warn or off, not ${validators}`);
  }
  // None reachable is not an error: the models are still diffed against the record.
  let client: MongoClient | undefined;
  try {
    if (!flags['no-db']) {
      const timeout = Math.min(c.config().mongo.serverSelectionTimeoutMS, 5000);
      client = new MongoClient(await c.serverUri(), { serverSelectionTimeoutMS: timeout });
      await client.connect();
    }
  } catch (error) {
    await client?.close().catch(() => {});
    client = undefined;
    const reason = redactSecrets(
      (error as Error).message.split('\n')[0] ?? '',
      process.env.MONGODB_URI,
    );
    c.out(`no database reachable (${reason}): the live indexes are not compared`);
  }
  try {
    const db = client?.db(c.config().mongo.dbName);
    await generateMigration({ name, models: appModels(), validators, db, log: c.out });
    return 0;
  } finally {
    await client?.close();
  }
}

export function assertKebabCase(name: string): void {
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name)) {
    throw new UsageError(`migration names are kebab-case (add-user-bio), not ${name}`);
  }
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
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  const latest = migrationFiles(dir).at(-1)?.slice(0, 14);
  return latest && stamp <= latest ? String(BigInt(latest) + 1n) : stamp;
}
