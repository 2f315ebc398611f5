import type { AnyBulkWriteOperation, ClientSession, MongoBulkWriteError } from 'mongodb';
import type { DatabaseConnection } from './connection.ts';
import { duplicateKeyPositions } from './errors.ts';

/** A Mongoose model, as far as bulk writes go. */
export interface BulkWritable {
  bulkWrite(
    ops: AnyBulkWriteOperation[],
    options: { ordered: false; session?: ClientSession; throwOnValidationError: true },
  ): Promise<unknown>;
}

/** Operations that matched a document, and upserts that inserted one, over every chunk. */
export interface WriteTally {
  matched: number;
  upserted: number;
}

export interface ChunkedWriteOptions {
  session?: ClientSession;
  /**
   * How many times the upserts of a chunk that lost a race on a unique key run again (the
   * document exists by then, so the rerun is a plain update). Only outside a transaction: inside
   * one, the first error has aborted the transaction and only a rerun of all of it can succeed.
   */
  duplicateKeyRetries?: number;
}

/**
 * Sends `ops` unordered, at most `db.capabilities.maxWriteStatements` per command (FerretDB
 * answers larger update commands never: src/db/engine-limits.js). Every failure is thrown: the
 * only error handled here is a per-operation duplicate key of an upsert, and only when the
 * caller asks for it; an error without per-operation details (network, write concern, an aborted
 * transaction) is never taken for one.
 */
export async function bulkWriteInChunks(
  db: DatabaseConnection,
  model: BulkWritable,
  ops: AnyBulkWriteOperation[],
  options: ChunkedWriteOptions = {},
): Promise<WriteTally> {
  const tally = { matched: 0, upserted: 0 };
  const count = (result: unknown) => {
    const r = result as Partial<Record<'matchedCount' | 'upsertedCount', number>> | undefined;
    tally.matched += r?.matchedCount ?? 0;
    tally.upserted += r?.upsertedCount ?? 0;
  };
  const size = db.capabilities.maxWriteStatements;
  const retries = options.session ? 0 : (options.duplicateKeyRetries ?? 0);
  for (let start = 0; start < ops.length; start += size) {
    let chunk = ops.slice(start, start + size);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await model.bulkWrite(chunk, {
          ordered: false,
          session: options.session,
          // Mongoose skips an unordered operation that fails validation without a word otherwise.
          throwOnValidationError: true,
        });
        count(result);
        break;
      } catch (error) {
        const lost = attempt < retries ? duplicateKeyPositions(error) : undefined;
        if (!lost) throw error;
        count((error as MongoBulkWriteError).result);
        chunk = chunk.filter((_, index) => lost.has(index));
      }
    }
  }
  return tally;
}
