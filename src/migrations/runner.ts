import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Db, MongoClient } from 'mongodb';
import { ScriptError } from '../process/script-error.ts';
import { acquireMigrationLock, type MigrationLock } from './lock.ts';
import { type BatchSettings, withBatchSettings } from './migration-kit.js';
import { CHANGELOG_COLLECTION, MIGRATIONS_DIR } from './settings.ts';
import { type MigrationStatus, readMigrationStatus } from './status.ts';

export interface MigrationTarget {
  client: MongoClient;
  db: Db;
}

export interface RunOptions {
  /** Recorded in the lock, so that a waiting run can say who holds it. */
  command: string;
  lockWaitMs: number;
  batch?: Partial<BatchSettings>;
  log: (line: string) => void;
  migrationsDir?: string;
  /** Runs under the lock once something is to be applied or rolled back (the backup). */
  beforeApply?: () => Promise<unknown>;
  /** How long live API instances get to confirm they refuse writes (default 30 s). */
  ackWaitMs?: number;
}

export interface UpOptions extends RunOptions {
  /** Apply up to and including this file; default: all pending. */
  to?: string;
  /** Apply at most this many pending migrations, oldest first. */
  steps?: number;
  allowOutOfOrder?: boolean;
}

export interface DownOptions extends RunOptions {
  /** How many applied migrations to roll back, newest first (default 1). */
  steps?: number;
  /** Roll back everything applied after this file; `base` rolls back everything. */
  to?: string;
  /** Roll back the newest run's migrations (migrate-mongo's `down --block`). */
  block?: boolean;
}

/** Bad input or a state that must not be migrated; nothing was changed. */
export class MigrationPlanError extends ScriptError {
  constructor(message: string) {
    super('migration-plan-refused', message);
    this.name = 'MigrationPlanError';
  }
}

/** A migration threw (or was interrupted); it is not recorded as applied. */
export class MigrationFailedError extends ScriptError {
  constructor(message: string, options?: ErrorOptions) {
    super('migration-failed', message);
    if (options) this.cause = options.cause;
    this.name = 'MigrationFailedError';
  }
}

/** Applies pending migrations in file order, under the lock; returns the files applied. */
export async function migrateUp(target: MigrationTarget, options: UpOptions): Promise<string[]> {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  return withLock(target.db, options, async (lock) => {
    const plan = planUp(await readMigrationStatus(target.db, dir), options);
    if (plan.length === 0) return [];
    await holdWrites(lock, options);
    await options.beforeApply?.();
    const migrationBlock = Date.now();
    const applied: string[] = [];
    for (const fileName of plan) {
      lock.assertHeld();
      await runOne(target, dir, fileName, 'up', options);
      // The same changelog entry migrate-mongo writes, so its CLI agrees on what is applied.
      await target.db
        .collection(CHANGELOG_COLLECTION)
        .insertOne({ fileName, appliedAt: new Date(), migrationBlock });
      applied.push(fileName);
    }
    return applied;
  });
}

/** Rolls back applied migrations newest first, under the lock; returns the files rolled back. */
export async function migrateDown(
  target: MigrationTarget,
  options: DownOptions,
): Promise<string[]> {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  return withLock(target.db, options, async (lock) => {
    const plan = planDown(await readMigrationStatus(target.db, dir), options);
    if (plan.length > 0) {
      await holdWrites(lock, options);
      await options.beforeApply?.();
    }
    const rolledBack: string[] = [];
    for (const fileName of plan) {
      lock.assertHeld();
      await runOne(target, dir, fileName, 'down', options);
      await target.db.collection(CHANGELOG_COLLECTION).deleteOne({ fileName });
      rolledBack.push(fileName);
    }
    return rolledBack;
  });
}

/** The files `up` would apply; throws MigrationPlanError for an unknown target or out-of-order. */
export function planUp(
  status: MigrationStatus,
  options: Pick<UpOptions, 'to' | 'steps' | 'allowOutOfOrder'>,
) {
  let plan = status.pending;
  if (options.to !== undefined && options.steps !== undefined) {
    throw new MigrationPlanError('give either --steps or --to, not both');
  }
  if (options.to !== undefined) {
    const to = resolveFile(status, options.to);
    plan = plan.filter((name) => name <= to);
  }
  if (options.steps !== undefined) plan = plan.slice(0, wholeSteps(options.steps));
  const late = plan.filter((name) => status.outOfOrder.includes(name));
  if (late.length > 0 && !options.allowOutOfOrder) {
    throw new MigrationPlanError(
      `refusing to apply ${late.join(', ')}: older than the latest applied migration ${status.latestApplied} ` +
        '(merged late from another branch?); check that it does not conflict with what ran since, ' +
        'then run up --allow-out-of-order',
    );
  }
  return plan;
}

/** The files `down` would roll back, newest first. */
export function planDown(
  status: MigrationStatus,
  options: Pick<DownOptions, 'steps' | 'to' | 'block'>,
) {
  if (status.duplicates.length > 0) {
    // One entry would be deleted and the other would still say "applied": check would be green
    // over a rolled-back schema.
    throw new MigrationPlanError(
      `the changelog records ${status.duplicates.map((d) => d.fileName).join(', ')} more than once; ` +
        'repair it first: npm run migrate -- repair --dry-run, then repair',
    );
  }
  if (status.unknown.length > 0) {
    throw new MigrationPlanError(
      `the database has applied migrations that this code does not have (${status.unknown.join(', ')}); ` +
        'roll back with the code that has them',
    );
  }
  const applied = status.applied.map((a) => a.fileName).reverse();
  if (
    [options.to, options.steps, options.block || undefined].filter((o) => o !== undefined).length >
    1
  ) {
    throw new MigrationPlanError('give one of --steps, --to and --block');
  }
  if (options.to === 'base') return applied;
  if (options.to !== undefined) {
    const to = resolveFile(status, options.to);
    return applied.filter((name) => name > to);
  }
  if (applied.length === 0)
    throw new MigrationPlanError('no migration is applied, nothing to roll back');
  if (options.block) {
    const block = status.applied.at(-1)?.migrationBlock;
    return status.applied
      .filter((a) => a.migrationBlock === block)
      .map((a) => a.fileName)
      .reverse();
  }
  const steps = wholeSteps(options.steps ?? 1);
  if (steps > applied.length) {
    throw new MigrationPlanError(
      `cannot roll back ${steps} migrations: ${applied.length} applied (use --to base for all)`,
    );
  }
  return applied.slice(0, steps);
}

function wholeSteps(steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new MigrationPlanError(`--steps must be a whole number of at least 1, not ${steps}`);
  }
  return steps;
}

/** Accepts a file name with or without `.js`. */
export function resolveFile(status: MigrationStatus, name: string): string {
  const fileName = name.endsWith('.js') ? name : `${name}.js`;
  if (!status.files.some((f) => f.fileName === fileName)) {
    throw new MigrationPlanError(`no migration named ${name} in migrations/`);
  }
  return fileName;
}

interface MigrationModule {
  up(db: Db, client: MongoClient): Promise<unknown>;
  down(db: Db, client: MongoClient): Promise<unknown>;
}

async function runOne(
  target: MigrationTarget,
  dir: string,
  fileName: string,
  direction: 'up' | 'down',
  options: RunOptions,
): Promise<void> {
  const started = Date.now();
  options.log(`${direction === 'up' ? 'applying' : 'rolling back'} ${fileName}`);
  const loaded = await import(pathToFileURL(join(dir, fileName)).href);
  const migration = (loaded.default ?? loaded) as Partial<MigrationModule>;
  const step = migration[direction];
  if (typeof step !== 'function') {
    throw new MigrationFailedError(`${fileName} exports no ${direction} function`);
  }
  try {
    await withBatchSettings(options.batch ?? {}, () => step(target.db, target.client));
  } catch (error) {
    // A failed migration is not recorded; each one is written to be re-run, so running the same
    // command again finishes what the interrupted one started.
    throw new MigrationFailedError(
      `${direction} ${fileName} failed, not recorded (run it again once fixed): ${(error as Error).message}`,
      { cause: error },
    );
  }
  options.log(
    `${direction === 'up' ? 'applied' : 'rolled back'} ${fileName} in ${Date.now() - started} ms`,
  );
}

/** Before anything changes: live APIs stop writing (the backup then sees no write in flight). */
export function holdWrites(
  lock: MigrationLock,
  options: Pick<RunOptions, 'ackWaitMs' | 'log'>,
): Promise<void> {
  return lock.holdWrites({ waitMs: options.ackWaitMs ?? 30_000, log: options.log });
}

/**
 * For a schema change made outside the migrations (a restore that replaces collections): takes
 * the migration lock and holds the live APIs' writes; the returned function ends both.
 */
export async function holdSchema(
  db: Db,
  options: Pick<RunOptions, 'command' | 'lockWaitMs' | 'ackWaitMs' | 'log'>,
): Promise<() => Promise<void>> {
  const lock = await acquireMigrationLock(db, {
    command: options.command,
    waitMs: options.lockWaitMs,
    log: options.log,
  });
  try {
    await holdWrites(lock, options);
  } catch (error) {
    await lock.release();
    throw error;
  }
  return () => lock.release();
}

/** Runs fn under the migration lock, released whatever happens (see releaseHeldLocks too). */
export async function withLock<T>(
  db: Db,
  options: Pick<RunOptions, 'command' | 'lockWaitMs' | 'log'>,
  fn: (lock: MigrationLock) => Promise<T>,
): Promise<T> {
  const lock = await acquireMigrationLock(db, {
    command: options.command,
    waitMs: options.lockWaitMs,
    log: options.log,
  });
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
