import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  create as createMigration,
  type MigrateMongoConfig,
  config as migrateMongoConfig,
} from 'migrate-mongo';
import { type Db, MongoClient } from 'mongodb';
import { runScript, type ScriptContext } from '../cli/script.ts';
import type { Config } from '../config.ts';
import { MIGRATE_MONGO_LOCK_COLLECTION } from '../db/bookkeeping-collections.ts';
import { replicationOptions } from '../db/replication.ts';
import { guardSocketWrites } from '../db/socket-write-guard.ts';
import { ScriptError, UsageError } from '../process/script-error.ts';
import { describePlannedBackup } from './backup.ts';
import { assertKebabCase, checkModelDrift, generateCommand, recordModelState } from './generate.ts';
import {
  clearMigrationLock,
  describeLock,
  holderIsDead,
  type MigrationLock,
  readMigrationLock,
  releaseHeldLocks,
} from './lock.ts';
import {
  appModels,
  buildDeclaredIndexes,
  compareDeclaredIndexes,
  extractModelState,
} from './model-state.ts';
import {
  CHANGELOG_COLLECTION,
  changelogProblems,
  configuredRun,
  type LockRun,
  MIGRATIONS_DIR,
  type MigrationStatus,
  migrateDown,
  migrateUp,
  migrationFiles,
  planDown,
  planUp,
  readMigrationStatus,
  resolveFile,
  withLock,
} from './runner.ts';
import { holdWrites } from './write-hold.ts';

export const USAGE = `usage: npm run migrate -- <command>
  up [--to <file> | --steps N] [--dry-run] [--no-backup] [--allow-out-of-order] [--wait <s>]
  down [--steps N | --to <file> | --to base | --block] [--dry-run] [--no-backup] [--wait <s>]
  status                the files, applied when or pending, and the lock; exit 1 naming
                        duplicate or unknown changelog entries
  check                 exit 1 when migrations are pending, the changelog lies, a declared
                        index is missing or different, or the models differ from the
                        state the migrations record (migrations/model-state.json)
  current               the newest applied migration ("(head)" when nothing is pending)
  history               every migration, oldest first, with what it does (no database)
  stamp <file>|base [--dry-run]
                        mark the migrations up to <file> applied and the later ones pending,
                        without running them
  repair [--dry-run] [--forget-unknown]
                        remove duplicate changelog entries (the oldest of each stays)
  indexes [--dry-run]   build the indexes the models declare that the database lacks
  create <name>         new file from migrations/sample-migration.js
  generate <name> [--validators error|warn|off] [--no-db]
                        write the migration for the models' changes (docs/migrations.md)
  snapshot              record the models' state after a hand-written migration
  unlock [--force]      clear the lock of a crashed run on another host
  help`;

const OPTIONS = {
  to: { type: 'string' },
  steps: { type: 'string' },
  wait: { type: 'string' },
  validators: { type: 'string' },
  block: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'no-backup': { type: 'boolean' },
  'allow-out-of-order': { type: 'boolean' },
  'forget-unknown': { type: 'boolean' },
  force: { type: 'boolean' },
  'no-db': { type: 'boolean' },
} as const;

type Flags = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** What a command that works on the database gets: an open client and the settings. */
interface Connected {
  client: MongoClient;
  db: Db;
  uri: string;
  config: Config;
  signal: AbortSignal;
  out: (line: string) => void;
}

interface Command<C> {
  flags: (keyof typeof OPTIONS)[];
  /** Takes positional arguments (and checks them); the others take none. */
  args?: true;
  run(c: C, args: string[], flags: Flags): number | Promise<number>;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

/** The settings migrate-mongo reads (`create`, and the plain CLI through migrate-mongo-config.js). */
export function migrateMongoSettings(): MigrateMongoConfig {
  return {
    // Only `create` and `init` reach migrate-mongo's own code, and neither connects.
    mongodb: { url: 'mongodb://127.0.0.1/', databaseName: 'unused' },
    migrationsDir: MIGRATIONS_DIR,
    changelogCollectionName: CHANGELOG_COLLECTION,
    // Its own lock off (lockTtl 0): ours is atomic (lock.ts), migrate-mongo's checks-then-inserts.
    lockCollectionName: MIGRATE_MONGO_LOCK_COLLECTION,
    lockTtl: 0,
    migrationFileExtension: '.js',
    useFileHash: false,
    moduleSystem: 'esm',
  };
}

/** The commands that need no database. */
const OFFLINE: Record<string, Command<ScriptContext>> = {
  help: {
    flags: [],
    run() {
      out(USAGE);
      return 0;
    },
  },
  create: {
    flags: [],
    args: true,
    async run(_ctx, [name, ...extra]) {
      if (!name || extra.length > 0)
        throw new UsageError('create takes one name, e.g. create add-tags');
      assertKebabCase(name);
      migrateMongoConfig.set(migrateMongoSettings());
      out(`created migrations/${await createMigration(name)}`);
      return 0;
    },
  },
  generate: {
    flags: ['validators', 'no-db'],
    args: true,
    run: (ctx, args, flags) => generateCommand(args, flags, { ...ctx, out }),
  },
  snapshot: {
    flags: [],
    run() {
      recordModelState({ models: appModels(), log: out });
      return 0;
    },
  },
  history: {
    flags: [],
    run() {
      // Every migration file, oldest first, the newest marked (head), with its summary.
      const files = migrationFiles();
      for (const [i, fileName] of files.entries()) {
        out(`${fileName}${i === files.length - 1 ? ' (head)' : ''}  ${migrationSummary(fileName)}`);
      }
      return 0;
    },
  },
};

/** The commands that work on the database. */
const ONLINE: Record<string, Command<Connected>> = {
  up: {
    flags: ['to', 'steps', 'dry-run', 'no-backup', 'allow-out-of-order', 'wait'],
    async run(c, _args, flags) {
      const plan = {
        to: flags.to,
        steps: count(flags.steps),
        allowOutOfOrder: flags['allow-out-of-order'],
      };
      if (flags['dry-run'])
        return dryRun(c, flags, 'apply', planUp(await readMigrationStatus(c.db), plan));
      const applied = await migrateUp(c, { ...runOptions(c, flags, 'up'), ...plan });
      c.out(applied.length > 0 ? `applied ${applied.length} migrations` : 'nothing to apply');
      return 0;
    },
  },
  down: {
    flags: ['steps', 'to', 'block', 'dry-run', 'no-backup', 'wait'],
    async run(c, _args, flags) {
      const plan = { steps: count(flags.steps), to: flags.to, block: flags.block };
      if (flags['dry-run'])
        return dryRun(c, flags, 'roll back', planDown(await readMigrationStatus(c.db), plan));
      // A down drops what the migrations built (tags, follows, indexes): backed up first.
      const rolledBack = await migrateDown(c, { ...runOptions(c, flags, 'down'), ...plan });
      c.out(`rolled back ${rolledBack.length} migrations`);
      return 0;
    },
  },
  status: {
    flags: [],
    async run(c) {
      const status = await readMigrationStatus(c.db);
      for (const file of status.files) {
        const late = status.outOfOrder.includes(file.fileName) ? '  (out of order)' : '';
        const when = file.appliedAt ? file.appliedAt.toISOString() : 'pending'.padEnd(24);
        c.out(`${when}  ${file.fileName}${late}`);
      }
      const lock = await readMigrationLock(c.db);
      if (lock) {
        const gone = holderIsDead(lock.holder)
          ? ' (that process is gone: the next run takes it over)'
          : '';
        c.out(`lock: ${describeLock(lock)}${gone}`);
      }
      assertTruthful(status, c.out);
      return 0;
    },
  },
  current: {
    flags: [],
    async run(c) {
      // As `alembic current` prints the revision.
      const status = await readMigrationStatus(c.db);
      const newest = status.applied.at(-1)?.fileName;
      const state = status.pending.length === 0 ? '(head)' : `(${status.pending.length} pending)`;
      c.out(newest ? `${newest} ${state}` : `base: nothing applied ${state}`);
      assertTruthful(status, c.out);
      return 0;
    },
  },
  check: { flags: [], run: checkCommand },
  unlock: {
    flags: ['force'],
    async run(c, _args, flags) {
      const cleared = await clearMigrationLock(c.db, { force: flags.force ?? false });
      c.out(cleared ? `cleared the migration lock (${describeLock(cleared)})` : 'no lock was held');
      return 0;
    },
  },
  stamp: { flags: ['dry-run', 'wait'], args: true, run: stampCommand },
  repair: { flags: ['dry-run', 'forget-unknown', 'wait'], run: repairCommand },
  indexes: { flags: ['dry-run', 'wait'], run: indexesCommand },
};

/** `npm run migrate -- <argv>`, and the plain `npx migrate-mongo up|down|status` routed here. */
export async function runMigrateCommand(argv: string[], name = 'migrate'): Promise<void> {
  await runScript(name, (ctx) => main(ctx, argv), {
    interruptible: true,
    usageHint: '(npm run migrate -- help)',
  });
}

async function main(ctx: ScriptContext, argv: string[]): Promise<number> {
  // Released on every way out: an error, a broken output pipe, a second Ctrl-C.
  ctx.onCleanup(releaseHeldLocks);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...args] = positionals;
  const command = name === undefined ? undefined : (OFFLINE[name] ?? ONLINE[name]);
  if (!command) throw new UsageError(name ? `unknown command ${name}` : 'no command given');
  const stray = Object.keys(values).find((flag) => !command.flags.includes(flag as never));
  if (stray) throw new UsageError(`${name} does not take --${stray}`);
  if (!command.args && args.length > 0)
    throw new UsageError(`${name} takes no arguments, not ${args[0]}`);
  const offline = OFFLINE[name as string];
  if (offline) return offline.run(ctx, args, values);
  const config = ctx.config();
  const uri = await ctx.serverUri();
  // A migration running across a server restart or a step-down must not wait for ever (see there).
  guardSocketWrites();
  const client = new MongoClient(uri, {
    ...replicationOptions(config.mongo.replication),
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  try {
    const modelDrift = name === 'check' ? checkModelDrift(out) : undefined;
    await client.connect();
    const db = client.db(config.mongo.dbName);
    const code = await (command as Command<Connected>).run(
      { client, db, uri, config, signal: ctx.signal, out },
      args,
      values,
    );
    if (modelDrift) throw modelDrift;
    return code;
  } finally {
    await client.close();
  }
}

function waitMs(c: Connected, flags: Flags): number {
  if (flags.wait === undefined) return c.config.migrations.lockWaitSeconds * 1000;
  const n = Number(flags.wait);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--wait takes whole seconds, not ${flags.wait}`);
  return n * 1000;
}

function lockOptions(c: Connected, flags: Flags, command: string): LockRun {
  const ackWaitMs = c.config.migrations.ackWaitSeconds * 1000;
  return { command: `migrate ${command}`, lockWaitMs: waitMs(c, flags), ackWaitMs, log: c.out };
}

function runOptions(c: Connected, flags: Flags, command: 'up' | 'down') {
  const backup = !flags['no-backup'] && c.config.migrations.backup;
  return {
    ...configuredRun(c, `migrate ${command}`, c.out, backup),
    ...lockOptions(c, flags, command),
  };
}

function count(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--steps takes a whole number, not ${value}`);
  return Number(value);
}

/** The plan, without the lock and without changing anything. */
async function dryRun(c: Connected, flags: Flags, verb: string, plan: string[]): Promise<number> {
  c.out(
    `dry run: would ${verb} ${plan.length} migrations${plan.length > 0 ? ', in this order:' : ''}`,
  );
  for (const [i, fileName] of plan.entries()) c.out(`  ${i + 1}. ${fileName}`);
  if (plan.length > 0) {
    const enabled = !flags['no-backup'] && c.config.migrations.backup;
    c.out(await describePlannedBackup({ db: c.db, config: c.config, enabled }));
  }
  const lock = await readMigrationLock(c.db);
  if (lock) c.out(`lock: ${describeLock(lock)} (the run would wait for it)`);
  return 0;
}

function assertTruthful(status: MigrationStatus, log: (line: string) => void): void {
  const problems = changelogProblems(status);
  if (problems.length === 0) return;
  for (const line of problems) log(line);
  throw new ScriptError(
    'changelog-inconsistent',
    `the changelog cannot be trusted: ${problems.join('; ')}; see \`npm run migrate -- repair --dry-run\``,
  );
}

/**
 * check: the deploy gate. Fails, naming what is wrong, when the changelog lies, anything is
 * pending, or a declared index is missing or different (unique ones first).
 */
async function checkCommand(c: Connected): Promise<number> {
  const dbName = c.config.mongo.dbName;
  const status = await readMigrationStatus(c.db);
  assertTruthful(status, c.out);
  if (status.pending.length > 0) {
    for (const name of status.pending) c.out(`pending: ${name}`);
    throw new ScriptError(
      'migrations-pending',
      `${status.pending.length} pending migrations on ${dbName}: ${status.pending.join(', ')}`,
    );
  }
  const indexes = await compareDeclaredIndexes(c.db, extractModelState(appModels()));
  for (const problem of indexes) c.out(`index ${problem.kind}: ${problem.line}`);
  const first = indexes[0];
  if (first) {
    throw new ScriptError(
      'indexes-missing',
      `${indexes.length} declared indexes are missing or different on ${dbName}, first ${first.line}; ` +
        'build missing ones with `npm run migrate -- indexes`',
    );
  }
  c.out(`all ${status.files.length} migrations applied on ${dbName}, every declared index present`);
  return 0;
}

/**
 * stamp: records the migrations up to and including `target` (or none, for `base`) as applied,
 * without running them, and forgets the later ones: for data known to be in that shape.
 */
async function stampCommand(c: Connected, args: string[], flags: Flags): Promise<number> {
  const [target, ...extra] = args;
  if (!target || extra.length > 0) throw new UsageError('stamp takes one file name, or base');
  c.out(
    'warning: stamp records migrations as applied or pending without running them; the data ' +
      'must already be in that shape',
  );
  const run = async (lock?: MigrationLock) => {
    const status = await readMigrationStatus(c.db);
    const to = target === 'base' ? '' : resolveFile(status, target);
    const applied = new Set(status.applied.map((a) => a.fileName));
    const added = status.files.map((f) => f.fileName).filter((n) => n <= to && !applied.has(n));
    const removed = [...applied].filter((n) => n > to);
    const verb = lock ? 'marking' : 'would mark';
    for (const name of added) c.out(`${verb} ${name} applied (not run)`);
    for (const name of removed) c.out(`${verb} ${name} pending (its down is not run)`);
    if (added.length + removed.length === 0) c.out(`the changelog already stands at ${target}`);
    if (!lock || added.length + removed.length === 0) return 0;
    // The API's idea of the schema changes with the changelog: it stops writing first.
    const options = lockOptions(c, flags, `stamp ${target}`);
    await holdWrites(c.db, lock, { waitMs: options.ackWaitMs ?? 30_000, log: c.out });
    const changelog = c.db.collection(CHANGELOG_COLLECTION);
    const migrationBlock = Date.now();
    const entries = added.map((fileName) => ({
      fileName,
      appliedAt: new Date(),
      migrationBlock,
      stamped: true,
    }));
    if (entries.length > 0) await changelog.insertMany(entries);
    if (removed.length > 0) await changelog.deleteMany({ fileName: { $in: removed } });
    return 0;
  };
  return flags['dry-run'] ? run() : withLock(c.db, lockOptions(c, flags, `stamp ${target}`), run);
}

/**
 * repair: removes the changelog entries that make it lie. Of a file recorded twice, the oldest
 * entry stays; entries of files this code does not have go only with --forget-unknown, since they
 * normally mean the database is ahead of the code.
 */
async function repairCommand(c: Connected, _args: string[], flags: Flags): Promise<number> {
  const run = async () => {
    const status = await readMigrationStatus(c.db);
    const changelog = c.db.collection<{ fileName: string; appliedAt: Date }>(CHANGELOG_COLLECTION);
    const doomed = [];
    for (const { fileName } of status.duplicates) {
      const entries = await changelog.find({ fileName }).sort({ appliedAt: 1, _id: 1 }).toArray();
      doomed.push(...entries.slice(1));
    }
    if (flags['forget-unknown']) {
      doomed.push(...(await changelog.find({ fileName: { $in: status.unknown } }).toArray()));
    }
    for (const name of flags['forget-unknown'] ? [] : status.unknown) {
      c.out(
        `kept ${name}: not in migrations/ (the database is ahead of this code? roll back with the code that has it, or repair --forget-unknown)`,
      );
    }
    const dry = flags['dry-run'];
    for (const entry of doomed) {
      c.out(
        `${dry ? 'would remove' : 'removing'} changelog entry ${entry.fileName} applied at ${entry.appliedAt.toISOString()}`,
      );
    }
    if (!dry && doomed.length > 0)
      await changelog.deleteMany({ _id: { $in: doomed.map((e) => e._id) } });
    if (doomed.length === 0) c.out('nothing to repair');
    else c.out(`${dry ? 'dry run: would remove' : 'removed'} ${doomed.length} changelog entries`);
    return 0;
  };
  return flags['dry-run'] ? run() : withLock(c.db, lockOptions(c, flags, 'repair'), run);
}

/** indexes: builds the declared indexes the database lacks, once no migration is pending. */
async function indexesCommand(c: Connected, _args: string[], flags: Flags): Promise<number> {
  const { pending } = await readMigrationStatus(c.db);
  if (pending.length > 0) {
    // A unique index on a field a pending migration fills in would be built over documents
    // that lack it.
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
    const names = different.map((p) => `${p.collection}.${p.index.name}`).join(', ');
    throw new ScriptError(
      'indexes-differ',
      `${different.length} indexes differ from the models (${names}): a migration changes them, not indexes`,
    );
  }
  c.out('every declared index exists');
  return 0;
}

/** The first sentence of a migration's leading comment: what `history` shows for it. */
function migrationSummary(fileName: string): string {
  const lines = readFileSync(join(MIGRATIONS_DIR, fileName), 'utf8').split('\n');
  const comment: string[] = [];
  for (const line of lines) {
    const match = /^\s*\/\/\s?(.*)$/.exec(line);
    if (!match) break;
    comment.push(match[1] ?? '');
  }
  const text = comment.join(' ').replace(/\s+/g, ' ').trim();
  return /^(.+?\.)(\s|$)/.exec(text)?.[1] ?? (text || '(no leading comment)');
}
