import { MongoNetworkError, MongoServerError } from 'mongodb';

// FerretDB v1 on SQLite: "UNIQUE constraint failed: index '<collection>_<hash>_<index name>'".
const SQLITE_UNIQUE = /UNIQUE constraint failed: index '(?:[^']*_)?([A-Za-z][A-Za-z0-9]*)_-?1'/;

/**
 * True for a unique-index violation. MongoDB reports code 11000. FerretDB v1 reports 11000 on
 * inserts, but on updates an InternalError (code 1) carrying SQLite's unique-constraint message.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  // Server errors carry `message`, per-operation write errors of a bulk write carry `errmsg`.
  const { code, message, errmsg } = error as {
    code?: unknown;
    message?: unknown;
    errmsg?: unknown;
  };
  return code === 11000 || (code === 1 && SQLITE_UNIQUE.test(String(errmsg ?? message ?? '')));
}

/**
 * The field of the violated unique index, when the server says which one (MongoDB always does;
 * FerretDB only on updates).
 */
export function duplicateKeyField(error: unknown): string | undefined {
  if (!(error instanceof MongoServerError)) return undefined;
  const pattern = (error as MongoServerError & { keyPattern?: Record<string, unknown> }).keyPattern;
  if (pattern) return Object.keys(pattern)[0];
  const value = (error as MongoServerError & { keyValue?: Record<string, unknown> }).keyValue;
  if (value) return Object.keys(value)[0];
  return (/index: ([A-Za-z0-9]+)_-?1 /.exec(error.message) ??
    SQLITE_UNIQUE.exec(error.message))?.[1];
}

const SOCKET_ERRORS = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** True when the database could not be reached (as opposed to rejecting the operation). */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // Subclasses too: a pool cleared by a network error (MongoPoolClearedError) is an outage.
  if (error instanceof MongoNetworkError) return true;
  // mongodb 7.8 lets a raw EPIPE escape when it writes to a socket the server has just closed.
  const code = (error as NodeJS.ErrnoException).code;
  if (code && SOCKET_ERRORS.has(code)) return true;
  return (
    /^(MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoTopologyClosedError|MongoNotConnectedError)$/.test(
      error.name,
    ) || /Client must be connected|connection .* closed|buffering timed out/i.test(error.message)
  );
}
