import { parseArgs } from 'node:util';
import { create as createMigration } from 'migrate-mongo';
import { MongoClient } from 'mongodb';
import { runScript, type ScriptContext } from '../src/cli/script.ts';
import type { Config } from '../src/config.ts';
import { replicationOptions } from '../src/db/replication.ts';
import { backupBeforeMigrating } from '../src/migrations/backup.ts';
import {
  checkModelDrift,
  generateCommand,
  snapshotCommand,
} from '../src/migrations/generate-command.ts';
import { clearMigrationLock, describeLock, readMigrationLock } from '../src/migrations/lock.ts';
import { throttledStderrReporter } from '../src/migrations/migration-kit.js';
import { migrateDown, migrateUp, type RunOptions } from '../src/migrations/runner.ts';
import { useMigrationsDir } from '../src/migrations/settings.ts';
import { readMigrationStatus } from '../src/migrations/status.ts';
import { ScriptError, UsageError } from '../src/process/script-error.ts';

const USAGE = `usage: npm run migrate -- <command>
  up [--to <file>] [--no-backup] [--allow-out-of-order] [--wait <seconds>]
  down [--steps N | --to <file> | --to base] [--no-backup] [--wait <seconds>]
  status
  check                 exit 1 and list them when migrations are pending or the models
                        differ from migrations/model-state.json
  create <name>         new file from migrations/sample-migration.js
  generate <name> [--validators error|warn|off] [--no-db]
                        write the migration for the models' changes (docs/migrations.md)
  snapshot              record the models' state after a hand-written migration
  unlock [--force]      clear the lock of a crashed run
  help`;

const FLAGS: Record<string, string[]> = {
  up: ['to', 'no-backup', 'allow-out-of-order', 'wait'],
  down: ['steps', 'to', 'no-backup', 'wait'],
  status: [],
  check: [],
  create: [],
  generate: ['validators', 'no-db'],
  snapshot: [],
  unlock: ['force'],
  help: [],
};

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(ctx: ScriptContext): Promise<number> {
  const { values, positionals } = parseCommandLine();
  const [command, ...rest] = positionals;
  const allowed = command ? FLAGS[command] : undefined;
  if (!command || !allowed) {
    throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  }
  const stray = Object.keys(values).find((flag) => !allowed.includes(flag));
  if (stray) throw new UsageError(`${command} does not take --${stray}`);
  if (command === 'help') {
    out(USAGE);
    return 0;
  }
  if (command === 'create') return create(rest);
  const commandContext = {
    out,
    usageError: (message: string) => new UsageError(message),
    serverUri: () => ctx.serverUri(),
  };
  if (command === 'generate') return generateCommand(rest, values, commandContext);
  if (command === 'snapshot') return snapshotCommand(rest, commandContext);
  const modelDrift = command === 'check' ? checkModelDrift(out) : undefined;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  const config = ctx.config();
  const uri = await ctx.serverUri();
  const client = new MongoClient(uri, {
    ...replicationOptions(config.mongo.replication),
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  // The runner aborts on the first signal (batches stop at a boundary); the second exits at
  // once, the lock then stays and `unlock` clears it.
  const abort = { signal: ctx.signal };
  const backupFirst = () =>
    backupBeforeMigrating({
      db: client.db(config.mongo.dbName),
      uri,
      config,
      enabled: !values['no-backup'] && config.migrations.backup,
      signal: abort.signal,
      log: out,
    });
  try {
    await client.connect();
    const target = { client, db: client.db(config.mongo.dbName) };
    const run: RunOptions = {
      command: `migrate ${command}`,
      lockWaitMs: seconds(values.wait, config.migrations.lockWaitSeconds) * 1000,
      batch: {
        batchSize: config.migrations.batchSize,
        signal: abort.signal,
        onProgress: throttledStderrReporter(2000),
      },
      log: out,
    };
    switch (command) {
      case 'up': {
        const applied = await migrateUp(target, {
          ...run,
          to: values.to,
          allowOutOfOrder: values['allow-out-of-order'] ?? false,
          beforeApply: backupFirst,
        });
        out(applied.length > 0 ? `applied ${applied.length} migrations` : 'nothing to apply');
        return 0;
      }
      case 'down': {
        const steps = values.steps === undefined ? undefined : Number(values.steps);
        // A down drops what the migrations built (tags, follows, indexes): backed up first.
        const rolledBack = await migrateDown(target, {
          ...run,
          steps,
          to: values.to,
          beforeApply: backupFirst,
        });
        out(`rolled back ${rolledBack.length} migrations`);
        return 0;
      }
      case 'unlock': {
        const cleared = await clearMigrationLock(target.db, { force: values.force ?? false });
        out(cleared ? `cleared the migration lock (${describeLock(cleared)})` : 'no lock was held');
        return 0;
      }
      default: {
        const code = await report(target.db, command === 'check', config);
        if (modelDrift) throw modelDrift;
        return code;
      }
    }
  } finally {
    await client.close();
  }
}

async function report(db: import('mongodb').Db, check: boolean, config: Config): Promise<number> {
  const status = await readMigrationStatus(db);
  if (!check) {
    for (const file of status.files) {
      const late = status.outOfOrder.includes(file.fileName) ? '  (out of order)' : '';
      const when = file.appliedAt ? file.appliedAt.toISOString() : 'pending'.padEnd(24);
      out(`${when}  ${file.fileName}${late}`);
    }
    const lock = await readMigrationLock(db);
    if (lock) out(`lock: ${describeLock(lock)}`);
  }
  for (const name of status.unknown) out(`applied but not in migrations/: ${name}`);
  if (check && status.pending.length > 0) {
    for (const name of status.pending) out(`pending: ${name}`);
    throw new CheckFailed(
      `${status.pending.length} pending migrations on ${config.mongo.dbName}: ${status.pending.join(', ')}`,
    );
  }
  if (check) out(`all ${status.files.length} migrations applied on ${config.mongo.dbName}`);
  return 0;
}

class CheckFailed extends ScriptError {
  constructor(message: string) {
    super('migrations-pending', message);
  }
}

async function create(args: string[]): Promise<number> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0)
    throw new UsageError('create takes one name, e.g. create add-tags');
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name)) {
    throw new UsageError(`migration names are kebab-case (add-user-bio), not ${name}`);
  }
  useMigrationsDir();
  out(`created migrations/${await createMigration(name)}`);
  return 0;
}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        to: { type: 'string' },
        steps: { type: 'string' },
        wait: { type: 'string' },
        'no-backup': { type: 'boolean' },
        'allow-out-of-order': { type: 'boolean' },
        force: { type: 'boolean' },
        validators: { type: 'string' },
        'no-db': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function seconds(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--wait takes whole seconds, not ${value}`);
  return n;
}

await runScript('migrate', main, {
  interruptible: true,
  usageHint: '(npm run migrate -- help)',
});
