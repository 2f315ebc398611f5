import type { Db } from 'mongodb';
import type { SchemaGate } from '../http/write-gate.ts';
import { AppError } from '../shared/errors.ts';
import { compareDeclaredIndexes } from './declared-indexes.ts';
import { readMigrationLock } from './lock.ts';
import type { ModelState } from './model-state.ts';
import { MIGRATIONS_DIR } from './settings.ts';
import { readMigrationStatus } from './status.ts';

export interface SchemaState {
  /** Migration files this code has and the database has not applied. */
  pending: string[];
  /** A `down` holds the migration lock: the schema is going back under this code. */
  rollingBack: boolean;
  /** Unique indexes the models declare that the database lacks (or has in another shape). */
  missingUnique: string[];
}

export interface SchemaWatch extends SchemaGate {
  /** Reads the state now (also what each poll does). */
  refresh(): Promise<SchemaState>;
  stop(): void;
}

export interface SchemaWatchOptions {
  db: Db;
  /** The models' declared state (collections and indexes). */
  models: ModelState;
  intervalMs: number;
  migrationsDir?: string;
  log: { warn(message: string): void; info(message: string): void };
}

/**
 * Follows whether the database is behind the code: pending migrations (a `down` ran, or the code
 * was deployed before `up`), a `down` in progress, or a declared unique index missing (a restore
 * without indexes). Polled, so that the API notices a change made by another process within
 * intervalMs; until the first poll answers, writes wait.
 */
export function watchSchema(options: SchemaWatchOptions): SchemaWatch {
  let state: SchemaState | undefined;
  let reported = '';
  const refresh = async () => {
    const [status, lock, indexes] = await Promise.all([
      readMigrationStatus(options.db, options.migrationsDir ?? MIGRATIONS_DIR),
      readMigrationLock(options.db),
      compareDeclaredIndexes(options.db, options.models),
    ]);
    state = {
      pending: status.pending,
      rollingBack: lock?.rollingBack === true,
      missingUnique: indexes.filter((p) => p.index.unique).map((p) => p.line),
    };
    const problem = describe(state);
    if (problem !== reported) {
      if (problem) {
        options.log.warn(`writes refused: ${problem}`);
        for (const line of state.missingUnique) options.log.warn(line);
      } else if (reported) options.log.info('the database matches the code again: writes accepted');
      reported = problem;
    }
    return state;
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    // A failed poll keeps the last state: the database guard answers for an outage.
    refresh()
      .catch(() => {})
      .finally(() => {
        polling = false;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    refresh,
    stop: () => clearInterval(timer),
    writesBlocked() {
      if (!state)
        return new AppError('migrations-pending', 'The schema is being checked; try again shortly');
      return gateError(state);
    },
    async notReady() {
      return gateError(await refresh());
    },
  };
}

function describe(state: SchemaState): string {
  return gateError(state)?.message ?? '';
}

function gateError(state: SchemaState): AppError | undefined {
  if (state.rollingBack) {
    return new AppError(
      'migrations-pending',
      'A migration is being rolled back; writes wait until the code matches the database',
    );
  }
  if (state.pending.length > 0) {
    const count =
      state.pending.length === 1 ? '1 migration is' : `${state.pending.length} migrations are`;
    return new AppError('migrations-pending', `${count} pending: npm run migrate -- up`);
  }
  if (state.missingUnique.length > 0) {
    // Which ones goes to the log, not to clients.
    const count =
      state.missingUnique.length === 1
        ? '1 unique index is'
        : `${state.missingUnique.length} unique indexes are`;
    return new AppError('indexes-missing', `${count} missing: npm run migrate -- indexes`);
  }
  return undefined;
}
