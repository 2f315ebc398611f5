import type { MongoClientOptions, ReadPreferenceMode } from 'mongodb';
import type { Connection } from 'mongoose';
import { loadConfig, type Replication } from '../config.ts';

/**
 * The MONGODB_* settings of `env` (the URI and database name aside): what a connection opened
 * without the app's config uses (tests, bench), so that a setting such as MONGODB_RETRY_WRITES=false
 * reaches every connection of a run, not only the app's.
 */
export function mongoSettingsOf(env: NodeJS.ProcessEnv = process.env) {
  const settings = Object.entries(env).filter(
    ([name]) => name.startsWith('MONGODB_') && name !== 'MONGODB_URI' && name !== 'MONGODB_DB',
  );
  return loadConfig(Object.fromEntries(settings)).mongo;
}

/**
 * The driver's client options for the replication settings. The client's own read preference
 * stays primary: token checks and the reads that follow a write must see the newest data; list
 * reads ask for `listReadPreference` one by one (Database.listReads).
 */
export function replicationOptions(replication: Replication): MongoClientOptions {
  const { w, journal, wtimeoutMS } = replication.writeConcern;
  return {
    writeConcern: { w, journal, wtimeoutMS },
    readConcern: { level: replication.readConcern },
    readPreference: 'primary',
    retryWrites: replication.retryWrites,
    retryReads: replication.retryReads,
  };
}

/** How the list reads ask for their read preference (driver option, Mongoose `.read()`). */
export interface ListReads {
  readPreference: ReadPreferenceMode;
}

export type Topology = 'standalone' | 'replica-set' | 'sharded';

export interface PrimaryCheck {
  writablePrimary: boolean;
  topology: Topology;
}

/**
 * Asks the server the driver selects for writes (the primary, or the one server of a direct
 * connection) whether it takes writes: a replica set member that lost its primary role, or a
 * direct connection to a secondary, answers hello with isWritablePrimary false.
 */
export async function checkWritablePrimary(connection: Connection): Promise<PrimaryCheck> {
  const hello = await connection
    .getClient()
    .db('admin')
    .command({ hello: 1 }, { readPreference: 'primary' });
  return primaryCheckOf(hello);
}

/** Reads a hello (or legacy isMaster) reply. */
export function primaryCheckOf(hello: Record<string, unknown>): PrimaryCheck {
  const topology: Topology =
    hello.msg === 'isdbgrid'
      ? 'sharded'
      : typeof hello.setName === 'string'
        ? 'replica-set'
        : 'standalone';
  return { writablePrimary: (hello.isWritablePrimary ?? hello.ismaster) === true, topology };
}
