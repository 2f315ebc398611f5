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
   * exact). True on MongoDB; false on FerretDB v1 with SQLite, which was measured here losing
   * updates: 40 concurrent `$inc: 1` on one document left it at 3 (test/capabilities.test.ts).
   */
  atomicUpdates: boolean;
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
  const replicated = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  return {
    engine: ferretdbVersion ? 'ferretdb' : 'mongodb',
    serverVersion: String(buildInfo.version),
    engineVersion: ferretdbVersion ?? String(buildInfo.version),
    transactions: !ferretdbVersion && replicated && hello.logicalSessionTimeoutMinutes != null,
    atomicUpdates: !ferretdbVersion,
    maxWriteStatements: maxWriteStatementsOf(buildInfo, {
      maxWriteBatchSize: hello.maxWriteBatchSize ?? 100_000,
    }),
  };
}
