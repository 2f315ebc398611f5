import type { ClientSession } from 'mongoose';
import type { Database } from './connection.ts';

/**
 * Runs fn inside a transaction where the server has them (replica set, mongos); elsewhere
 * (standalone mongod, FerretDB) runs it without a session, so fn must order its writes to be
 * retry-safe on its own.
 */
export async function inTransactionIfAvailable<T>(
  db: Database,
  fn: (session: ClientSession | undefined) => Promise<T>,
): Promise<T> {
  if (!db.capabilities.transactions) return fn(undefined);
  const session = await db.connection.startSession();
  try {
    return await session.withTransaction(() => fn(session));
  } finally {
    await session.endSession();
  }
}
