import { ObjectId } from 'mongodb';
import type { Connection } from 'mongoose';
import { ferretdbVersionOf, maxWriteStatementsOf } from './engine-limits.js';
import { isDuplicateKeyError } from './errors.ts';

export { FERRETDB_MAX_WRITE_STATEMENTS } from './engine-limits.js';

export interface Capabilities {
  engine: 'mongodb' | 'ferretdb';
  /** Version the server reports (FerretDB reports the MongoDB version it emulates). */
  serverVersion: string;
  engineVersion: string;
  /** Multi-document transactions need a replica set or mongos, and are absent in FerretDB v1. */
  transactions: boolean;
  /**
   * Concurrent updates of one document are applied one after another (so `$inc` counters are
   * exact). True on MongoDB; false on FerretDB v1 with SQLite, which loses such updates
   * (test/capabilities.test.ts; what was seen: docs/operations.md, "FerretDB v1 as seen here").
   */
  atomicUpdates: boolean;
  /**
   * Concurrent upserts of one new `_id` all count: one inserts, the others update what it
   * inserted (a duplicate-key error retried once). MongoDB does this (it retries such an upsert
   * itself); FerretDB v1 does not, nor did another engine that passed the `$inc` check
   * (docs/operations.md, "FerretDB v1 as seen here"). Checked at connect time on every engine but
   * FerretDB, with racing upserts in the `capability_probe` collection; false when that check
   * cannot write.
   */
  atomicUpserts: boolean;
  /** Most statements one write command may carry (FerretDB: see src/db/engine-limits.js). */
  maxWriteStatements: number;
}

/** Asks the server once, at connect time, what it is and what it can do. */
export async function probeCapabilities(connection: Connection): Promise<Capabilities> {
  const admin = connection.getClient().db('admin');
  const [hello, buildInfo] = await Promise.all([
    // `hello` is MongoDB 4.4.2+; servers without it (mongo-java-server, which the bench can use:
    // docs/benchmarks.md) answer its legacy name, `isMaster`, with the same fields.
    admin
      .command({ hello: 1 })
      .catch((error: { code?: number }) =>
        error.code === 59 ? admin.command({ isMaster: 1 }) : Promise.reject(error),
      ),
    admin.command({ buildInfo: 1 }),
  ]);
  const ferretdbVersion = ferretdbVersionOf(buildInfo);
  const atomicUpserts = ferretdbVersion ? false : await upsertsCountEveryRacer(connection);
  const replicated = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  return {
    engine: ferretdbVersion ? 'ferretdb' : 'mongodb',
    serverVersion: String(buildInfo.version),
    engineVersion: ferretdbVersion ?? String(buildInfo.version),
    transactions: !ferretdbVersion && replicated && hello.logicalSessionTimeoutMinutes != null,
    atomicUpdates: !ferretdbVersion,
    atomicUpserts,
    maxWriteStatements: maxWriteStatementsOf(buildInfo, {
      maxWriteBatchSize: hello.maxWriteBatchSize ?? 100_000,
    }),
  };
}

export const PROBE_COLLECTION = 'capability_probe';
const PROBE_RACERS = 20;
const PROBE_ROUNDS = 2;

/**
 * Races upserting `$inc`s on a new `_id`, as a counter's first hits of a window do; a lossy
 * engine does not lose every round, so two are run. Leaves nothing behind.
 */
async function upsertsCountEveryRacer(connection: Connection): Promise<boolean> {
  const probe = connection
    .getClient()
    .db(connection.name)
    .collection<{ _id: ObjectId; n: number }>(PROBE_COLLECTION);
  const ids = Array.from({ length: PROBE_ROUNDS }, () => new ObjectId());
  try {
    for (const _id of ids) {
      const upsert = () => probe.updateOne({ _id }, { $inc: { n: 1 } }, { upsert: true });
      await Promise.all(
        Array.from({ length: PROBE_RACERS }, () =>
          upsert().catch((error) =>
            isDuplicateKeyError(error) ? upsert() : Promise.reject(error),
          ),
        ),
      );
      if ((await probe.findOne({ _id }))?.n !== PROBE_RACERS) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    await probe.deleteMany({ _id: { $in: ids } }).catch(() => {});
  }
}
