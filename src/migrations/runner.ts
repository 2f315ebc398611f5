import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Db, MongoClient } from 'mongodb';
import type { Config } from '../config.ts';
import { CHANGELOG_COLLECTION } from '../db/bookkeeping-collections.ts';
import { projectRoot } from '../process/project-root.ts';
import { ScriptError } from '../process/script-error.ts';
import { backupBeforeMigrating } from './backup.ts';
import { acquireMigrationLock, type MigrationLock } from './lock.ts';
import { type BatchSettings, throttledStderrReporter, withBatchSettings } from './migration-kit.ts';
import { holdWrites } from './write-hold.ts';

export { CHANGELOG_COLLECTION, projectRoot };

/** Absolute, so that the app and the tools find the files whatever the working directory. */
export const MIGRATIONS_DIR = resolve(projectRoot, 'migrations');

export interface MigrationTarget {
  client: MongoClient;
  db: Db;
}

export interface LockRun {
  /** Recorded in the lock, so that a waiting run can say who holds it. */
  command: string;
  lockWaitMs: number;
  /** How long live API instances get to confirm they refuse writes (default 30 s). */
  ackWaitMs?: number;
  log: (line: string) => void;
}

export interface RunOptions extends LockRun {
  batch?: Partial<BatchSettings>;
  migrationsDir?: string;
  /** Runs under the lock once something is to be applied or rolled back (the backup). */
  beforeApply?: () => Promise<unknown>;
}

export interface PlanOptions {
  /** up: apply up to and including this file; down: roll back what is after it (`base`: all). */
  to?: string;
  /** up: at most this many pending, oldest first; down: this many applied, newest first. */
  steps?: number;
  allowOutOfOrder?: boolean;
  /** down: the newest run's migrations (migrate-mongo's `down --block`). */
  block?: boolean;
}

export type UpOptions = RunOptions & PlanOptions;
export type DownOptions = RunOptions & PlanOptions;

/** Bad input or a state that must not be migrated; nothing was changed. */
const refuse = (message: string) => new ScriptError('migration-plan-refused', message);

/** A migration threw (or was interrupted); it is not recorded as applied. */
export class MigrationFailedError extends ScriptError {
  constructor(message: string, options?: ErrorOptions) {
    super('migration-failed', message);
    if (options) this.cause = options.cause;
    this.name = 'MigrationFailedError';
  }
}

/** Start-up refused: migrations are pending (MIGRATIONS_ON_START=refuse). */
export class PendingMigrationsError extends ScriptError {
  constructor(message: string) {
    super('migrations-pending', message);
    this.name = 'PendingMigrationsError';
  }
}

/** The migration files in order (what migrate-mongo runs). */
export function migrationFiles(dir = MIGRATIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => /^\d{14}-.*\.js$/.test(name))
    .sort();
}

export interface ChangelogEntry {
  fileName: string;
  appliedAt: Date;
  /** migrate-mongo's run id (Date.now() of the run): `down --block` rolls back one run. */
  migrationBlock?: number;
}

export type MigrationStatus = Awaited<ReturnType<typeof readMigrationStatus>>;

/** The files and migrate-mongo's changelog, with what migrate-mongo does not check. */
export async function readMigrationStatus(db: Db, dir = MIGRATIONS_DIR) {
  const logged = await db
    .collection<ChangelogEntry>(CHANGELOG_COLLECTION)
    .find({}, { projection: { _id: 0, fileName: 1, appliedAt: 1, migrationBlock: 1 } })
    .toArray();
  // As migrate-mongo's status: a file is applied by its first changelog entry.
  const files = migrationFiles(dir).map((fileName) => ({
    fileName,
    entry: logged.find((e) => e.fileName === fileName),
  }));
  const applied = files.flatMap((f) => (f.entry ? [f.entry] : []));
  const pending = files.filter((f) => !f.entry).map((f) => f.fileName);
  const known = new Set(files.map((f) => f.fileName));
  const unknown = [...new Set(logged.map((e) => e.fileName).filter((n) => !known.has(n)))].sort();
  const latestApplied = [...applied.map((a) => a.fileName), ...unknown].sort().at(-1);
  const duplicates = [...known, ...unknown]
    .map((fileName) => ({ fileName, count: logged.filter((e) => e.fileName === fileName).length }))
    .filter((d) => d.count > 1);
  return {
    files: files.map((f) => ({ fileName: f.fileName, appliedAt: f.entry?.appliedAt })),
    applied,
    pending,
    /** Pending files that sort before the latest applied one (merged late from another branch). */
    outOfOrder: latestApplied ? pending.filter((name) => name < latestApplied) : [],
    /** Applied according to the changelog, but no such file here (the database is ahead). */
    unknown,
    /** Files the changelog records more than once (two runs applied them). */
    duplicates,
    latestApplied,
  };
}

/** What makes the changelog untrustworthy, one line each (a `down` would leave a duplicate). */
export function changelogProblems(status: MigrationStatus): string[] {
  return [
    ...status.duplicates.map(
      (d) => `duplicate changelog entry: ${d.fileName} is recorded ${d.count} times`,
    ),
    ...status.unknown.map((name) => `unknown changelog entry: ${name} is not in migrations/`),
  ];
}

/** Names of the pending migrations (for start-up and readiness). */
export async function pendingMigrations(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  return (await readMigrationStatus(db, dir)).pending;
}

/** The files `up` would apply; refuses an unknown target or a migration merged out of order. */
export function planUp(status: MigrationStatus, options: PlanOptions): string[] {
  if (options.to !== undefined && options.steps !== undefined) {
    throw refuse('give either --steps or --to, not both');
  }
  const to = options.to === undefined ? undefined : resolveFile(status, options.to);
  let plan = status.pending.filter((name) => to === undefined || name <= to);
  if (options.steps !== undefined) plan = plan.slice(0, wholeSteps(options.steps));
  const late = plan.filter((name) => status.outOfOrder.includes(name));
  if (late.length > 0 && !options.allowOutOfOrder) {
    throw refuse(
      `refusing to apply ${late.join(', ')}: older than the latest applied migration ${status.latestApplied} ` +
        '(merged late from another branch?); check that it does not conflict with what ran since, ' +
        'then run up --allow-out-of-order',
    );
  }
  return plan;
}

/** The files `down` would roll back, newest first. */
export function planDown(status: MigrationStatus, options: PlanOptions): string[] {
  if (status.duplicates.length > 0) {
    // Deleting one entry would leave the other saying "applied" over a rolled-back schema.
    throw refuse(
      `the changelog records ${status.duplicates.map((d) => d.fileName).join(', ')} more than once; ` +
        'repair it first: npm run migrate -- repair --dry-run, then repair',
    );
  }
  if (status.unknown.length > 0) {
    throw refuse(
      `the database has applied migrations that this code does not have (${status.unknown.join(', ')}); ` +
        'roll back with the code that has them',
    );
  }
  const given = [options.to, options.steps, options.block || undefined];
  if (given.filter((o) => o !== undefined).length > 1) {
    throw refuse('give one of --steps, --to and --block');
  }
  const applied = status.applied.map((a) => a.fileName).reverse();
  if (options.to === 'base') return applied;
  if (options.to !== undefined) {
    const to = resolveFile(status, options.to);
    return applied.filter((name) => name > to);
  }
  if (applied.length === 0) throw refuse('no migration is applied, nothing to roll back');
  if (options.block) {
    const block = status.applied.at(-1)?.migrationBlock;
    return status.applied
      .filter((a) => a.migrationBlock === block)
      .map((a) => a.fileName)
      .reverse();
  }
  const steps = wholeSteps(options.steps ?? 1);
  if (steps > applied.length) {
    throw refuse(
      `cannot roll back ${steps} migrations: ${applied.length} applied (use --to base for all)`,
    );
  }
  return applied.slice(0, steps);
}

function wholeSteps(steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) {
    throw refuse(`--steps must be a whole number of at least 1, not ${steps}`);
  }
  return steps;
}

/** Accepts a file name with or without `.js`. */
export function resolveFile(status: MigrationStatus, name: string): string {
  const fileName = name.endsWith('.js') ? name : `${name}.js`;
  if (!status.files.some((f) => f.fileName === fileName)) {
    throw refuse(`no migration named ${name} in migrations/`);
  }
  return fileName;
}

/** Applies pending migrations in file order, under the lock; returns the files applied. */
export function migrateUp(target: MigrationTarget, options: UpOptions): Promise<string[]> {
  return migrate(target, options, 'up');
}

/** Rolls back applied migrations newest first, under the lock; returns the files rolled back. */
export function migrateDown(target: MigrationTarget, options: DownOptions): Promise<string[]> {
  return migrate(target, options, 'down');
}

async function migrate(target: MigrationTarget, options: RunOptions & PlanOptions, way: Way) {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  const changelog = target.db.collection(CHANGELOG_COLLECTION);
  return withLock(target.db, options, async (lock) => {
    const status = await readMigrationStatus(target.db, dir);
    const plan = way === 'up' ? planUp(status, options) : planDown(status, options);
    if (plan.length === 0) return [];
    // Before anything changes: live APIs stop writing (the backup then sees no write in flight).
    await holdWrites(target.db, lock, { waitMs: options.ackWaitMs ?? 30_000, log: options.log });
    await options.beforeApply?.();
    const migrationBlock = Date.now();
    for (const fileName of plan) {
      lock.assertHeld();
      await runOne(target, join(dir, fileName), way, options);
      // The same changelog entry migrate-mongo writes, so its CLI agrees on what is applied.
      if (way === 'up')
        await changelog.insertOne({ fileName, appliedAt: new Date(), migrationBlock });
      else await changelog.deleteOne({ fileName });
    }
    return plan;
  });
}

type Way = 'up' | 'down';

async function runOne(target: MigrationTarget, file: string, way: Way, options: RunOptions) {
  const started = Date.now();
  const fileName = basename(file);
  options.log(`${way === 'up' ? 'applying' : 'rolling back'} ${fileName}`);
  const loaded = await import(pathToFileURL(file).href);
  const step = (loaded.default ?? loaded)[way];
  if (typeof step !== 'function')
    throw new MigrationFailedError(`${fileName} exports no ${way} function`);
  try {
    await withBatchSettings(options.batch ?? {}, () => step(target.db, target.client));
  } catch (error) {
    // Not recorded: each migration is written to be re-run, so running it again finishes it.
    throw new MigrationFailedError(
      `${way} ${fileName} failed, not recorded (run it again once fixed): ${(error as Error).message}`,
      { cause: error },
    );
  }
  options.log(
    `${way === 'up' ? 'applied' : 'rolled back'} ${fileName} in ${Date.now() - started} ms`,
  );
}

/** Runs fn under the migration lock, released whatever happens (see releaseHeldLocks too). */
export async function withLock<T>(
  db: Db,
  options: LockRun,
  fn: (lock: MigrationLock) => Promise<T>,
): Promise<T> {
  const lock = await acquireMigrationLock(db, { ...options, waitMs: options.lockWaitMs });
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/**
 * For a schema change made outside the migrations (a restore that replaces collections): takes
 * the migration lock and holds the live APIs' writes; the returned function ends both.
 */
export async function holdSchema(db: Db, options: LockRun): Promise<() => Promise<void>> {
  const lock = await acquireMigrationLock(db, { ...options, waitMs: options.lockWaitMs });
  try {
    await holdWrites(db, lock, { waitMs: options.ackWaitMs ?? 30_000, log: options.log });
  } catch (error) {
    await lock.release();
    throw error;
  }
  return () => lock.release();
}

/** The runner's options from the configuration: lock waits, batches, the backup first. */
export function configuredRun(
  c: { db: Db; uri: string; config: Config; signal?: AbortSignal },
  command: string,
  log: (line: string) => void,
  backup = c.config.migrations.backup,
): RunOptions {
  const { migrations } = c.config;
  return {
    command,
    lockWaitMs: migrations.lockWaitSeconds * 1000,
    ackWaitMs: migrations.ackWaitSeconds * 1000,
    log,
    // The runner aborts on the first signal (batches stop at a boundary); a second exits.
    batch: {
      batchSize: migrations.batchSize,
      signal: c.signal,
      onProgress: throttledStderrReporter(2000),
    },
    beforeApply: () => backupBeforeMigrating({ ...c, enabled: backup, log }),
  };
}

export interface StartupCheckOptions {
  target: MigrationTarget;
  /** For the backup before applying (mongodump connects on its own). */
  uri: string;
  config: Config;
  log: { info(message: string): void; warn(message: string): void };
  signal?: AbortSignal;
}

/**
 * Start-up with pending migrations, as MIGRATIONS_ON_START says: refuse (one line naming them),
 * apply them (as `npm run migrate -- up` would), or warn and serve while /readyz answers 503.
 */
export async function enforceMigrationPolicy(options: StartupCheckOptions): Promise<void> {
  const { config, target, log } = options;
  const status = await readMigrationStatus(target.db);
  for (const name of status.unknown) {
    log.warn(`applied migration ${name} is not in migrations/: the database is ahead of this code`);
  }
  if (status.pending.length === 0) return;
  const summary = `${status.pending.length} pending migrations: ${status.pending.join(', ')}`;
  const policy = config.migrations.onStart;
  if (policy === 'refuse') {
    throw new PendingMigrationsError(
      `${summary}; run \`npm run migrate -- up\` first (or set MIGRATIONS_ON_START=apply)`,
    );
  }
  if (policy === 'warn') {
    log.warn(`${summary}; serving anyway (MIGRATIONS_ON_START=warn), /readyz answers 503`);
    return;
  }
  log.info(`${summary}; applying them (MIGRATIONS_ON_START=apply)`);
  const run = { db: target.db, uri: options.uri, config, signal: options.signal };
  const info = (line: string) => log.info(line);
  await migrateUp(target, configuredRun(run, 'start-up (MIGRATIONS_ON_START=apply)', info));
}
