import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { DatabaseConnection } from '../db/connection.ts';
import { isUnavailableError, isWaitQueueTimeout } from '../db/errors.ts';
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
  /** A new connection has waited over half a second for the server's handshake: it is not answering. */
  handshakesStalled(): boolean;
}

/** A handshake on a server that answers takes milliseconds; one this old means it does not. */
const HANDSHAKE_STALL_MS = 500;

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
  const handshakes = watchHandshakes(db);
  return {
    handshakesStalled: handshakes.stalled,
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

/**
 * Connections the pool is establishing (created, not yet ready), from the driver's public CMAP
 * events. A stalled handshake is how a server that stopped answering (paused, frozen VM) shows
 * itself to a request whose read the driver retried: that retry ends in a wait-queue timeout,
 * which alone cannot tell a dead server from a busy pool.
 */
function watchHandshakes(db: DatabaseConnection): { stalled(): boolean } {
  const started = new Map<string, number>();
  const key = (event: { address: string; connectionId: number | '<monitor>' }) =>
    `${event.address}/${event.connectionId}`;
  const client = db.connection.getClient();
  client.on('connectionCreated', (event) => started.set(key(event), Date.now()));
  client.on('connectionReady', (event) => started.delete(key(event)));
  client.on('connectionClosed', (event) => started.delete(key(event)));
  return {
    stalled: () => [...started.values()].some((at) => Date.now() - at >= HANDSHAKE_STALL_MS),
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

/**
 * Trips the watch when a request failed because the database could not be reached, including a
 * wait for a pooled connection while the server does not answer handshakes (503
 * database-unavailable, not overloaded).
 */
export function databaseErrorWatch(watch: DatabaseWatch): ErrorRequestHandler {
  return (error, _req, _res, next) => {
    const waitedOnADeadServer = isWaitQueueTimeout(error) && watch.handshakesStalled();
    if (isUnavailableError(error) || waitedOnADeadServer) {
      watch.trip();
      watch.nudge();
    }
    next(waitedOnADeadServer ? databaseUnavailable() : error);
  };
}
