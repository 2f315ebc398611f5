import type { Db } from 'mongodb';
import type { SchemaGate } from '../http/write-gate.ts';
import { withinMs } from '../shared/deadline.ts';
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
  /** A reading not done by then is left to finish alone, and the next poll reads again (5 s). */
  readTimeoutMs?: number;
  /** How long /readyz waits for a reading in progress before answering from the last (2 s). */
  readyWaitMs?: number;
  migrationsDir?: string;
  log: { warn(message: string): void; info(message: string): void };
}

/**
 * Follows whether the database is behind the code: pending migrations (a `down` ran, or the code
 * was deployed before `up`), a `down` in progress, or a declared unique index missing (a restore
 * without indexes). Polled, so that the API notices a change made by another process within
 * intervalMs; until the first poll answers, writes wait.
 *
 * One reading at a time, shared by the poll and /readyz (each /readyz used to start its own),
 * and bounded (readTimeoutMs): a read the server never answers (the driver does not bound it)
 * no longer stops the polls for good with the state left as it was. /readyz waits readyWaitMs
 * for the reading and otherwise answers from the last one, so it answers within its bound.
 */
export function watchSchema(options: SchemaWatchOptions): SchemaWatch {
  const { db } = options;
  const readTimeoutMs = options.readTimeoutMs ?? 5000;
  let state: SchemaState | undefined;
  let reported = '';
  // A reading left to finish alone must not overwrite a later one's state when it ends.
  let readings = 0;
  const read = async () => {
    const mine = ++readings;
    const [status, lock, indexes] = await Promise.all([
      readMigrationStatus(db, options.migrationsDir ?? MIGRATIONS_DIR),
      readMigrationLock(db),
      compareDeclaredIndexes(db, options.models),
    ]);
    const fresh: SchemaState = {
      pending: status.pending,
      rollingBack: lock?.rollingBack === true,
      missingUnique: indexes.filter((p) => p.index.unique).map((p) => p.line),
    };
    if (mine !== readings) return fresh;
    state = fresh;
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
  let reading: Promise<SchemaState> | undefined;
  const refresh = () => {
    reading ??= withinMs(read(), readTimeoutMs, () => {
      throw new AppError(
        'database-unavailable',
        `The schema could not be read within ${readTimeoutMs} ms`,
      );
    }).finally(() => {
      reading = undefined;
    });
    return reading;
  };
  const timer = setInterval(() => {
    // A failed poll keeps the last state: the database guard answers for an outage.
    refresh().catch(() => {});
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
      const current =
        (await withinMs(refresh(), options.readyWaitMs ?? 2000, () => undefined)) ?? state;
      if (!current)
        return new AppError('migrations-pending', 'The schema is being checked; try again shortly');
      return gateError(current);
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
