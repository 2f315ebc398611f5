import { MongoError, MongoErrorLabel } from 'mongodb';
import type { ClientSession } from 'mongoose';
import { AppError } from '../shared/errors.ts';
import type { DatabaseConnection } from './connection.ts';
import { isDuplicateKeyError, isUnavailableError } from './errors.ts';

/** Runs of one transaction before the request fails (409, or 503 when the server is gone). */
export const MAX_TRANSACTION_ATTEMPTS = 5;

// WriteConflict, LockTimeout, NoSuchTransaction: the server aborted the transaction because of
// what another one did, or lost it. MongoDB labels them TransientTransactionError itself where it
// can; the label is added here too, so that they are rerun whatever the server version says.
const RUN_AGAIN_CODES = new Set([112, 24, 251]);

/**
 * True for an error raised inside a transaction that means "run the whole transaction again":
 * the server's own TransientTransactionError label (write conflicts, network errors, a primary
 * that stepped down), the codes above, and a duplicate key, which inside a transaction comes
 * from an upsert that lost a race on a unique key (a rerun finds the document and updates it).
 * A duplicate key aborts the transaction on MongoDB (SERVER-34059), so retrying the one
 * statement inside it could never succeed.
 */
export function meansRunAgain(error: unknown): error is MongoError {
  if (!(error instanceof MongoError)) return false;
  return (
    error.hasErrorLabel(MongoErrorLabel.TransientTransactionError) ||
    (typeof error.code === 'number' && RUN_AGAIN_CODES.has(error.code)) ||
    isDuplicateKeyError(error)
  );
}

/** What the client gets when every attempt ended in an error that means "run again". */
function attemptsSpent(last: unknown): AppError {
  if (isUnavailableError(last)) {
    return new AppError('database-unavailable', 'The database is unavailable; try again shortly');
  }
  return new AppError('conflict', 'The write kept colliding with concurrent writes; try again');
}

/**
 * Runs fn inside a transaction where the server has them (replica set, mongos); elsewhere
 * (standalone mongod, FerretDB) runs it once without a session, so fn must order its writes to
 * be safe on its own. In a transaction, fn's statements are never retried one by one: an error
 * that means "run again" reaches the driver's withTransaction labelled
 * TransientTransactionError, which aborts and reruns all of fn (and retries an unknown commit
 * result), at most MAX_TRANSACTION_ATTEMPTS runs; then the request fails with 409 or 503.
 */
export async function inTransactionIfAvailable<T>(
  db: DatabaseConnection,
  fn: (session: ClientSession | undefined) => Promise<T>,
): Promise<T> {
  if (!db.capabilities.transactions) return fn(undefined);
  const session = await db.connection.startSession();
  let attempts = 0;
  let last: unknown;
  try {
    return await session.withTransaction(async () => {
      attempts += 1;
      // Not a MongoError: withTransaction aborts and hands it to the caller without a rerun.
      if (attempts > MAX_TRANSACTION_ATTEMPTS) throw attemptsSpent(last);
      try {
        return await fn(session);
      } catch (error) {
        last = error;
        if (meansRunAgain(error)) error.addErrorLabel(MongoErrorLabel.TransientTransactionError);
        throw error;
      }
    });
  } finally {
    await session.endSession();
  }
}
