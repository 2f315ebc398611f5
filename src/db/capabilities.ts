import type { Connection } from 'mongoose';
import { ferretdbVersionOf, maxWriteStatementsOf } from './engine-limits.js';

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
   * exact). MongoDB's rule; FerretDB v1 with SQLite breaks it (docs/operations.md, "FerretDB v1
   * as seen here"), and the models' writes then take turns (src/db/document-turns.ts).
   */
  atomicUpdates: boolean;
  /**
   * Concurrent upserts of one new `_id` all count: one inserts, the others update what it
   * inserted (a duplicate-key error retried once). MongoDB's rule; FerretDB v1 breaks it.
   */
  atomicUpserts: boolean;
  /** Most statements one write command may carry (FerretDB: see src/db/engine-limits.js). */
  maxWriteStatements: number;
}

/**
 * The rules an engine keeps that its identity does not tell: MongoDB's by default, FerretDB's
 * by its name. A MongoDB-compatible server that breaks one says so here (MONGODB_ATOMIC_UPDATES,
 * MONGODB_ATOMIC_UPSERTS); `npm run doctor` finds out which, in a scratch database.
 */
export interface EngineRules {
  atomicUpdates?: boolean;
  atomicUpserts?: boolean;
}

/**
 * Asks the server once, at connect time, what it is (hello and buildInfo): nothing is written
 * to learn about the engine; the explicit `rules` stand for what its identity does not tell.
 */
export async function probeCapabilities(
  connection: Connection,
  rules: EngineRules = {},
): Promise<Capabilities> {
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
  const replicated = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  return {
    engine: ferretdbVersion ? 'ferretdb' : 'mongodb',
    serverVersion: String(buildInfo.version),
    engineVersion: ferretdbVersion ?? String(buildInfo.version),
    transactions: !ferretdbVersion && replicated && hello.logicalSessionTimeoutMinutes != null,
    atomicUpdates: rules.atomicUpdates ?? !ferretdbVersion,
    atomicUpserts: rules.atomicUpserts ?? !ferretdbVersion,
    maxWriteStatements: maxWriteStatementsOf(buildInfo, {
      maxWriteBatchSize: hello.maxWriteBatchSize ?? 100_000,
    }),
  };
}
