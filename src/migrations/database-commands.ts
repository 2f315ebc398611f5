import type { Db, MongoClient } from 'mongodb';
import type { Config } from '../config.ts';
import { ScriptError, UsageError } from '../process/script-error.ts';
import { appModels } from './app-models.ts';
import { backupBeforeMigrating, describePlannedBackup } from './backup.ts';
import { repairChangelog, stampChangelog } from './changelog-repair.ts';
import type { Flags } from './command-line.ts';
import { buildDeclaredIndexes, compareDeclaredIndexes } from './declared-indexes.ts';
import { clearMigrationLock, describeLock, readMigrationLock } from './lock.ts';
import { throttledStderrReporter } from './migration-kit.js';
import { extractModelState } from './model-state.ts';
import { checkReport, currentReport, statusReport } from './report.ts';
import { migrateDown, migrateUp, planDown, planUp, type RunOptions, withLock } from './runner.ts';
import { readMigrationStatus } from './status.ts';

/** What a command that works on the database gets: an open client and the settings. */
export interface Connected {
  client: MongoClient;
  db: Db;
  uri: string;
  config: Config;
  signal: AbortSignal;
  out: (line: string) => void;
}

type DatabaseCommand = (c: Connected, args: string[], flags: Flags) => Promise<number>;

/** One small function per command (scripts/migrate.ts and the routed plain CLI dispatch here). */
export const databaseCommands: Record<string, DatabaseCommand> = {
  up: noArgs(async (c, flags) => {
    const options = {
      to: flags.to,
      steps: count(flags.steps),
      allowOutOfOrder: flags['allow-out-of-order'] ?? false,
    };
    if (flags['dry-run']) {
      return dryRun(c, flags, 'apply', planUp(await readMigrationStatus(c.db), options));
    }
    const applied = await migrateUp(c, { ...runOptions(c, flags, 'up'), ...options });
    c.out(applied.length > 0 ? `applied ${applied.length} migrations` : 'nothing to apply');
    return 0;
  }),
  down: noArgs(async (c, flags) => {
    const options = { steps: count(flags.steps), to: flags.to, block: flags.block };
    if (flags['dry-run']) {
      return dryRun(c, flags, 'roll back', planDown(await readMigrationStatus(c.db), options));
    }
    // A down drops what the migrations built (tags, follows, indexes): backed up first.
    const rolledBack = await migrateDown(c, { ...runOptions(c, flags, 'down'), ...options });
    c.out(`rolled back ${rolledBack.length} migrations`);
    return 0;
  }),
  status: noArgs((c) => statusReport(c.db, c.out)),
  current: noArgs((c) => currentReport(c.db, c.out)),
  check: noArgs((c) => checkReport(c.db, c.config.mongo.dbName, c.out)),
  unlock: noArgs(async (c, flags) => {
    const cleared = await clearMigrationLock(c.db, { force: flags.force ?? false });
    c.out(cleared ? `cleared the migration lock (${describeLock(cleared)})` : 'no lock was held');
    return 0;
  }),
  async stamp(c, args, flags) {
    const [target, ...extra] = args;
    if (!target || extra.length > 0) throw new UsageError('stamp takes one file name, or base');
    c.out(
      'warning: stamp records migrations as applied or pending without running them; the data ' +
        'must already be in that shape',
    );
    const { added, removed } = await stampChangelog(c.db, target, {
      ...lockOptions(c, flags, `stamp ${target}`),
      dryRun: flags['dry-run'] ?? false,
    });
    if (added.length + removed.length === 0) c.out(`the changelog already stands at ${target}`);
    return 0;
  },
  repair: noArgs(async (c, flags) => {
    await repairChangelog(c.db, {
      ...lockOptions(c, flags, 'repair'),
      dryRun: flags['dry-run'] ?? false,
      forgetUnknown: flags['forget-unknown'] ?? false,
    });
    return 0;
  }),
  indexes: noArgs(async (c, flags) => {
    const { pending } = await readMigrationStatus(c.db);
    if (pending.length > 0) {
      // The models declare the newest shape: a unique index on a field a pending migration fills
      // in would be built over documents that lack it.
      throw new ScriptError(
        'migrations-pending',
        `${pending.length} pending migrations (${pending.join(', ')}): run \`npm run migrate -- up\` first, it builds their indexes`,
      );
    }
    const state = extractModelState(appModels());
    if (flags['dry-run']) {
      const problems = await compareDeclaredIndexes(c.db, state);
      for (const p of problems)
        c.out(`${p.kind === 'missing' ? 'would build' : 'cannot fix'}: ${p.line}`);
      if (problems.length === 0) c.out('every declared index exists');
      return 0;
    }
    const different = await withLock(c.db, lockOptions(c, flags, 'indexes'), () =>
      buildDeclaredIndexes(c.db, state, c.out),
    );
    if (different.length > 0) {
      for (const p of different) c.out(`not changed: ${p.line}`);
      throw new ScriptError(
        'indexes-differ',
        `${different.length} indexes differ from the models (${different.map((p) => `${p.collection}.${p.index.name}`).join(', ')}): a migration changes them, not indexes`,
      );
    }
    c.out('every declared index exists');
    return 0;
  }),
};

function noArgs(fn: (c: Connected, flags: Flags) => Promise<number>): DatabaseCommand {
  return (c, args, flags) => {
    if (args.length > 0) throw new UsageError(`unexpected argument ${args[0]}`);
    return fn(c, flags);
  };
}

function lockOptions(c: Connected, flags: Flags, command: string) {
  return {
    command: `migrate ${command}`,
    lockWaitMs: seconds(flags.wait, c.config.migrations.lockWaitSeconds) * 1000,
    ackWaitMs: c.config.migrations.ackWaitSeconds * 1000,
    log: c.out,
  };
}

function runOptions(c: Connected, flags: Flags, command: 'up' | 'down'): RunOptions {
  return {
    ...lockOptions(c, flags, command),
    // The runner aborts on the first signal (batches stop at a boundary); a second exits.
    batch: {
      batchSize: c.config.migrations.batchSize,
      signal: c.signal,
      onProgress: throttledStderrReporter(2000),
    },
    beforeApply: () =>
      backupBeforeMigrating({
        db: c.db,
        uri: c.uri,
        config: c.config,
        enabled: !flags['no-backup'] && c.config.migrations.backup,
        signal: c.signal,
        log: c.out,
      }),
  };
}

/** The plan, without the lock and without changing anything. */
async function dryRun(c: Connected, flags: Flags, verb: string, plan: string[]): Promise<number> {
  c.out(
    `dry run: would ${verb} ${plan.length} migrations${plan.length > 0 ? ', in this order:' : ''}`,
  );
  for (const [i, fileName] of plan.entries()) c.out(`  ${i + 1}. ${fileName}`);
  if (plan.length > 0) {
    c.out(
      await describePlannedBackup({
        db: c.db,
        config: c.config,
        enabled: !flags['no-backup'] && c.config.migrations.backup,
      }),
    );
  }
  const lock = await readMigrationLock(c.db);
  if (lock) c.out(`lock: ${describeLock(lock)} (the run would wait for it)`);
  return 0;
}

function count(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--steps takes a whole number, not ${value}`);
  return Number(value);
}

function seconds(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--wait takes whole seconds, not ${value}`);
  return n;
}
