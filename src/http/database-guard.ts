import type { RequestHandler } from 'express';
import type { Database } from '../db/connection.ts';
import { AppError } from '../shared/errors.ts';

const CONNECTED = 1;

export interface DatabaseWatch {
  /** True while the driver can reach the server (Mongoose's readyState says connected). */
  isUp(): boolean;
  /**
   * Asks the server for a ping, at most one at a time. While no operation runs, the driver
   * re-checks a lost server only every heartbeat (10 s); an operation makes it look at once, so
   * a ping is what lets the API notice quickly that the database is back.
   */
  nudge(): void;
}

export function watchDatabase(db: Database): DatabaseWatch {
  let pinging = false;
  // After an explicit close (shutdown) a ping would make the driver connect again.
  let closed = false;
  db.connection.once('close', () => {
    closed = true;
  });
  return {
    isUp: () => db.connection.readyState === CONNECTED,
    nudge() {
      if (pinging || closed) return;
      pinging = true;
      db.connection
        .getClient()
        .db('admin')
        .command({ ping: 1 })
        .catch(() => {})
        .finally(() => {
          pinging = false;
        });
    },
  };
}

export function databaseUnavailable(): AppError {
  return new AppError('database-unavailable', 'The database is unavailable; try again shortly');
}

/**
 * Fails a request at once with 503 database-unavailable while the database is known to be
 * unreachable, instead of letting it wait out the server-selection timeout. Requests that start
 * just before the driver notices still fail within that timeout (bounded by config), and their
 * driver errors map to the same 503.
 */
export function databaseGuard(watch: DatabaseWatch): RequestHandler {
  return (_req, _res, next) => {
    if (watch.isUp()) {
      next();
      return;
    }
    watch.nudge();
    next(databaseUnavailable());
  };
}
