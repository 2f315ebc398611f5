import { MongoBulkWriteError, MongoNetworkError, MongoServerError } from 'mongodb';
import type { Model } from 'mongoose';

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

/**
 * The positions, in the batch sent, of the operations that failed on a unique key, when that is
 * all that went wrong: every per-operation error is a duplicate key, and nothing failed the
 * command as a whole (no write concern error). Undefined for anything else, including a bulk
 * write error that carries no per-operation errors (a network error or an aborted transaction
 * raised while the command ran): such an error says nothing about which operations applied.
 */
export function duplicateKeyPositions(error: unknown): Set<number> | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  if (writeErrors.length === 0 || error.result?.getWriteConcernError()) return undefined;
  if (!writeErrors.every((e) => isDuplicateKeyError(e))) return undefined;
  return new Set(writeErrors.map((e) => e.index));
}

/**
 * Which of `values`' fields a duplicate-key error collided on. MongoDB names the index in every
 * duplicate-key error; FerretDB v1 does not on inserts, so there one read per candidate (on
 * this error path only) finds the value that is already taken.
 */
export async function collidingField<T>(
  model: Model<T>,
  error: unknown,
  values: Record<string, string | undefined>,
): Promise<string | undefined> {
  if (!isDuplicateKeyError(error)) return undefined;
  const named = duplicateKeyField(error);
  if (named && named in values) return named;
  for (const [field, value] of Object.entries(values)) {
    if (value !== undefined && (await model.exists({ [field]: value } as never))) return field;
  }
  return undefined;
}

const SOCKET_ERRORS = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * Server errors that mean "no primary to take this now", or a write that its members did not
 * acknowledge within the write concern's wtimeout (code 64, also on a bulk write's write concern
 * error): the write's fate is unknown, as after a lost connection. NotWritablePrimary,
 * NotPrimaryNoSecondaryOk, InterruptedAtShutdown, InterruptedDueToReplStateChange,
 * PrimarySteppedDown, ShutdownInProgress, WriteConcernFailed.
 */
const REPLICATION_UNAVAILABLE = new Set([10107, 13435, 11600, 11602, 189, 91, 64]);

/**
 * True when the database could not be reached or had no primary to take the operation (as
 * opposed to rejecting it): the caller answers 503 and cannot know whether a write applied.
 */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof MongoServerError && REPLICATION_UNAVAILABLE.has(Number(error.code))) {
    return true;
  }
  if (error instanceof MongoBulkWriteError) {
    const concern = error.result?.getWriteConcernError?.();
    if (concern && REPLICATION_UNAVAILABLE.has(Number(concern.code))) return true;
  }
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

/** No pooled connection within MONGODB_WAIT_QUEUE_TIMEOUT_MS (the driver does not export the class). */
export function isWaitQueueTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'MongoWaitQueueTimeoutError';
}
