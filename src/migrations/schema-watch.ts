import type { Db } from 'mongodb';
import type { SchemaGate } from '../http/write-gate.ts';
import { withinMs } from '../shared/deadline.ts';
import { AppError } from '../shared/errors.ts';
import { compareDeclaredIndexes, type ModelState } from './model-state.ts';
import { readMigrationStatus } from './runner.ts';
import { startHeartbeat } from './write-hold.ts';

export interface SchemaState {
  /** Migration files this code has and the database has not applied. */
  pending: string[];
  /** Unique indexes the models declare that the database lacks (or has in another shape). */
  missingUnique: string[];
}

export interface SchemaWatch extends SchemaGate {
  /** Reads the state now (also what each poll does). */
  refresh(): Promise<SchemaState>;
  /** Settles once the first reading and the first heartbeat have ended (start-up waits for it). */
  started(): Promise<void>;
  /** Stops the polls and the heartbeat, and leaves the registry of live instances. */
  stop(): Promise<void>;
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
  heartbeatMs?: number;
}

/**
 * Follows whether the database is behind the code. A schema change made by our commands (up,
 * down, stamp, restore --drop) is announced on the migration lock and honoured through the
 * instance heartbeat (write-hold.ts): writes are refused from then until a reading taken after
 * the lock's release says the schema matches. The polls only find what changed unannounced
 * (code deployed before its `up`, an index dropped by hand). Until the first reading and beat,
 * writes wait.
 */
export function watchSchema(options: SchemaWatchOptions): SchemaWatch {
  const reader = schemaReader(options);
  let inFlight = 0;
  const heartbeat = startHeartbeat({
    db: options.db,
    inFlight: () => inFlight,
    confirmRelease: reader.readingFromNow,
    log: options.log,
    heartbeatMs: options.heartbeatMs,
  });
  const timer = setInterval(() => {
    // A failed poll keeps the last state: the database guard answers for an outage.
    reader.refresh().catch(() => {});
  }, options.intervalMs);
  timer.unref();
  const blocked = (current: SchemaState | undefined) => {
    if (heartbeat.held() !== undefined) {
      return new AppError(
        'migrations-pending',
        'The schema is being changed (migrate or restore); writes wait until it matches the code',
      );
    }
    if (!current || !heartbeat.fresh())
      return new AppError('migrations-pending', 'The schema is being checked; try again shortly');
    return gateError(current);
  };
  return {
    refresh: reader.refresh,
    started: async () => void (await Promise.all([reader.refresh(), heartbeat.firstBeat])),
    async stop() {
      clearInterval(timer);
      await heartbeat.stop();
    },
    writesBlocked: () => blocked(reader.state()),
    writeStarted() {
      inFlight += 1;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        inFlight -= 1;
        heartbeat.nudge();
      };
    },
    async notReady() {
      const readyWaitMs = options.readyWaitMs ?? 2000;
      const [current] = await Promise.all([
        withinMs(reader.refresh(), readyWaitMs, () => undefined),
        withinMs(heartbeat.settle(), readyWaitMs, () => undefined),
      ]);
      return blocked(current ?? reader.state());
    },
  };
}

/**
 * One reading at a time, shared by the poll and /readyz, and bounded (readTimeoutMs): a read the
 * server never answers (the driver does not bound it) must not stop the polls for good.
 */
function schemaReader(options: SchemaWatchOptions) {
  const readTimeoutMs = options.readTimeoutMs ?? 5000;
  let state: SchemaState | undefined;
  let reported = '';
  // A reading left to finish alone must not overwrite a later one's state when it ends.
  let readings = 0;
  const read = async () => {
    const mine = ++readings;
    const [status, indexes] = await Promise.all([
      readMigrationStatus(options.db, options.migrationsDir),
      compareDeclaredIndexes(options.db, options.models),
    ]);
    const fresh: SchemaState = {
      pending: status.pending,
      missingUnique: indexes.filter((p) => p.index.unique).map((p) => p.line),
    };
    if (mine !== readings) return fresh;
    state = fresh;
    const problem = gateError(state)?.message ?? '';
    if (problem && problem !== reported) {
      options.log.warn(`writes refused: ${problem}`);
      for (const line of state.missingUnique) options.log.warn(line);
    } else if (!problem && reported) {
      options.log.info('the database matches the code again: writes accepted');
    }
    reported = problem;
    return state;
  };
  let reading: Promise<SchemaState> | undefined;
  let readingStarted = 0;
  const refresh = () => {
    if (!reading) readingStarted = Date.now();
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
  return {
    refresh,
    state: () => state,
    /** A reading that started after now: one already under way may predate a lock's release. */
    async readingFromNow() {
      const since = Date.now();
      const first = refresh();
      const started = readingStarted;
      await first;
      if (started < since) await refresh();
    },
  };
}

function gateError(state: SchemaState): AppError | undefined {
  const count = (n: number, one: string, many: string) =>
    n === 1 ? `1 ${one} is` : `${n} ${many} are`;
  if (state.pending.length > 0) {
    const what = count(state.pending.length, 'migration', 'migrations');
    return new AppError('migrations-pending', `${what} pending: npm run migrate -- up`);
  }
  if (state.missingUnique.length > 0) {
    // Which ones goes to the log, not to clients.
    const what = count(state.missingUnique.length, 'unique index', 'unique indexes');
    return new AppError('indexes-missing', `${what} missing: npm run migrate -- indexes`);
  }
  return undefined;
}
