import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { DatabaseConnection } from '../db/connection.ts';
import { isUnavailableError } from '../db/errors.ts';
import { withinMs } from '../shared/deadline.ts';
import { AppError } from '../shared/errors.ts';

const CONNECTED = 1;
/** A nudge's ping not answered by then is left to finish alone; the next nudge may ping. */
const NUDGE_BOUND_MS = 2000;

export interface DatabaseWatch {
  /** False while the database is known to be unreachable. */
  isUp(): boolean;
  /** Records that an operation could not reach the database. */
  trip(): void;
  /** Pings the database (one ping at a time, for 2 s at most); a success means it is back. */
  nudge(): void;
}

/**
 * Knows whether the database is reachable, from two sources. Mongoose's readyState follows the
 * driver's server monitoring, which can take a heartbeat (10 s) to notice an outage: the
 * mongodb 7 driver does not mark a server unknown when a new connection is refused (it labels
 * that "system overloaded"). So a failed operation also trips the watch; a successful ping
 * resets it. The ping also makes the driver re-check the server at once instead of at the next
 * heartbeat, which is what lets the API notice quickly that the database is back.
 */
export function watchDatabase(db: DatabaseConnection): DatabaseWatch {
  let tripped = false;
  let pinging = false;
  // After an explicit close (shutdown) a ping would make the driver connect again.
  let closed = false;
  db.connection.once('close', () => {
    closed = true;
  });
  return {
    isUp: () => !tripped && db.connection.readyState === CONNECTED,
    trip() {
      tripped = true;
    },
    nudge() {
      if (pinging || closed) return;
      pinging = true;
      const ping = db.connection
        .getClient()
        .db('admin')
        .command({ ping: 1 })
        .then(() => 'answered' as const);
      // Bounded here (the driver does not bound it): a ping the server never answers would hold
      // back every later nudge, and the API would answer 503 after the database is back.
      withinMs(ping, NUDGE_BOUND_MS, () => 'late' as const)
        .then(
          (outcome) => {
            if (outcome === 'answered') tripped = false;
          },
          () => {},
        )
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
 * unreachable, instead of letting it wait out the server-selection timeout. A request that
 * starts before anything noticed the outage fails within that timeout (MONGODB_SERVER_SELECTION_
 * TIMEOUT_MS), with the same 503, and trips the watch for the requests after it.
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

/** Trips the watch when a request failed because the database could not be reached. */
export function databaseErrorWatch(watch: DatabaseWatch): ErrorRequestHandler {
  return (error, _req, _res, next) => {
    if (isUnavailableError(error)) {
      watch.trip();
      watch.nudge();
    }
    next(error);
  };
}
