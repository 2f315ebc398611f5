import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { MongoNetworkError } from 'mongodb';

/** The part of the driver's internal Connection (mongodb/lib/cmap/connection.js) used here. */
interface DriverConnection extends EventEmitter {
  id: number | string;
  address: string;
  closed: boolean;
  error: Error | null;
  socket: { destroyed: boolean };
  onError(error: Error): void;
  writeCommand(command: unknown, options: unknown): Promise<void>;
}

interface ConnectionClass {
  prototype: DriverConnection;
  CLOSE: string;
}

const GUARDED = Symbol.for('microblog.socketWriteGuard');

/**
 * Makes a command written to a dead socket fail instead of hanging for ever (mongodb 7.8.0, and
 * 7.9.1 has the same code). The driver's Connection writes a command and, when `socket.write()`
 * returns false, waits for the socket's 'drain'. A socket that Node has destroyed (the server
 * closed it) but whose 'close' the Connection has not seen yet returns false and never emits
 * 'drain', 'error' or 'timeout': the command waits for ever, whatever socketTimeoutMS says. When
 * that command is the driver's server monitor's hello, the monitor never checks again: the
 * server stays unknown and the app answers 503 until it is restarted (docs/operations.md,
 * "Health and readiness"; test/db/readiness.test.ts recreates it).
 *
 * The guard wraps the write: a dead socket fails the command with the MongoNetworkError the
 * driver gives a closed connection (and closes the Connection the way a socket error does), and a
 * write still waiting when the Connection closes fails with the Connection's error. The driver
 * then does what it does after any network error: marks the server unknown, clears the pool,
 * checks the server again. Idempotent; returns false when the driver no longer has the method
 * it wraps (the test then fails: check whether the new driver still needs it).
 * Remove it when test/db/readiness.test.ts passes without it on a new driver (no upstream ticket
 * found; NODE-6370 fixed a different wait for 'drain').
 */
export function guardSocketWrites(): boolean {
  const require = createRequire(import.meta.url);
  const { Connection } = require('mongodb/lib/cmap/connection.js') as {
    Connection?: ConnectionClass;
  };
  const proto = Connection?.prototype;
  if (!Connection || !proto || typeof proto.writeCommand !== 'function') return false;
  const guarded = proto as DriverConnection & { [GUARDED]?: true };
  if (guarded[GUARDED]) return true;
  const write = proto.writeCommand;
  const closeEvent = Connection.CLOSE;
  proto.writeCommand = function writeCommand(this: DriverConnection, command, options) {
    const closedError = () =>
      this.error ?? new MongoNetworkError(`connection ${this.id} to ${this.address} closed`);
    if (this.socket.destroyed && !this.closed) this.onError(closedError());
    if (this.closed) return Promise.reject(closedError());
    const written = write.call(this, command, options);
    let onClose = () => {};
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(closedError());
      this.once(closeEvent, onClose);
    });
    return Promise.race([written, closed]).finally(() => {
      this.off(closeEvent, onClose);
    });
  };
  guarded[GUARDED] = true;
  return true;
}
