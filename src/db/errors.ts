import { MongoServerError } from 'mongodb';

/**
 * True for a unique-index violation. MongoDB reports code 11000; FerretDB v1 reports 11000 on
 * inserts but code 1 with an "E11000 duplicate key" message on updates, so both are recognised.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  if (!(error instanceof MongoServerError)) return false;
  return error.code === 11000 || /E11000|duplicate key/i.test(error.message);
}

/** The field of the violated unique index, when the server says which one. */
export function duplicateKeyField(error: unknown): string | undefined {
  if (!(error instanceof MongoServerError)) return undefined;
  const pattern = (error as MongoServerError & { keyPattern?: Record<string, unknown> }).keyPattern;
  if (pattern) return Object.keys(pattern)[0];
  const value = (error as MongoServerError & { keyValue?: Record<string, unknown> }).keyValue;
  if (value) return Object.keys(value)[0];
  return /index:\s+([A-Za-z0-9]+)_/.exec(error.message)?.[1];
}

/** True when the database could not be reached (as opposed to rejecting the operation). */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    /^(MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoTopologyClosedError|MongoNotConnectedError)$/.test(
      error.name,
    ) || /Client must be connected|connection .* closed|buffering timed out/i.test(error.message)
  );
}
