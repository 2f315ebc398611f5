import { type Db, MongoClient } from 'mongodb';
import { loadConfig } from '../config.ts';
import { ScriptError } from '../process/script-error.ts';
import { redactSecrets } from '../shared/connection-string.ts';
import { appModels } from './app-models.ts';
import { describeChange } from './diff.ts';
import { generateMigration, modelDrift, recordModelState, unrecordedState } from './generate.ts';
import { MIGRATIONS_DIR } from './settings.ts';

/** `npm run migrate -- generate|snapshot` and the model half of `check` (scripts/migrate.ts). */
export interface CommandContext {
  out: (line: string) => void;
  usageError: (message: string) => Error;
  /** MONGODB_URI or the shared local engine (released by the script runner when it ends). */
  serverUri: () => Promise<string>;
}

const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const VALIDATORS = ['error', 'warn', 'off'] as const;

/** generate <name> [--validators error|warn|off] [--no-db] */
export async function generateCommand(
  args: string[],
  flags: { validators?: string; 'no-db'?: boolean },
  { out, usageError, serverUri }: CommandContext,
): Promise<number> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0) throw usageError('generate takes one name, e.g. generate add-bio');
  if (!NAME.test(name))
    throw usageError(`migration names are kebab-case (add-user-bio), not ${name}`);
  const validators = flags.validators;
  if (validators !== undefined && !(VALIDATORS as readonly string[]).includes(validators)) {
    throw usageError(`--validators takes error, warn or off, not ${validators}`);
  }
  const live = flags['no-db'] ? undefined : await reachDatabase(out, serverUri);
  try {
    await generateMigration({
      name,
      models: appModels(),
      validators: validators as (typeof VALIDATORS)[number] | undefined,
      db: live?.db,
      log: out,
    });
    return 0;
  } finally {
    await live?.close();
  }
}

/** snapshot: records the models' state after a hand-written migration. */
export function snapshotCommand(args: string[], { out, usageError }: CommandContext): number {
  if (args.length > 0) throw usageError(`snapshot takes no arguments, not ${args[0]}`);
  recordModelState({ models: appModels(), log: out });
  return 0;
}

/**
 * Prints what differs between the models and the recorded state; returns the error `check` must
 * fail with, or undefined when they match.
 */
export function checkModelDrift(
  out: (line: string) => void,
  models = appModels(),
  migrationsDir = MIGRATIONS_DIR,
): Error | undefined {
  const drift = modelDrift(models, migrationsDir);
  const orphaned = unrecordedState(migrationsDir);
  if (drift.length === 0 && orphaned) {
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

/**
 * The database generate compares indexes with: MONGODB_URI or the embedded engine, as the other
 * commands use. None reachable is not an error: the models are still diffed against the record.
 */
async function reachDatabase(out: (line: string) => void, serverUri: () => Promise<string>) {
  let client: MongoClient | undefined;
  try {
    const config = loadConfig();
    client = new MongoClient(await serverUri(), {
      serverSelectionTimeoutMS: Math.min(config.mongo.serverSelectionTimeoutMS, 5000),
    });
    await client.connect();
    const db: Db = client.db(config.mongo.dbName);
    const opened = client;
    return {
      db,
      close: () => opened.close(),
    };
  } catch (error) {
    await client?.close().catch(() => {});
    const reason = redactSecrets(
      (error as Error).message.split('\n')[0] ?? '',
      process.env.MONGODB_URI,
    );
    out(`no database reachable (${reason}): the live indexes are not compared`);
    return undefined;
  }
}
