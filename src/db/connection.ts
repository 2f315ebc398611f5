import type { MongoClient } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import type { Replication } from '../config.ts';
import { type Capabilities, probeCapabilities } from './capabilities.ts';
import { type DocumentTurns, documentTurns } from './document-turns.ts';
import { defaultReplication, type ListReads, replicationOptions } from './replication.ts';
import { guardSocketWrites } from './socket-write-guard.ts';

/**
 * The app's models by name. Each feature's model file adds its own to this interface
 * (declaration merging, as fastify's plugins declare their decorators), and src/models.ts
 * registers them on the connection: this folder knows no feature.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the features' model files
export interface Models {}

/** The open connection with the app's models on it: what features read and write through. */
export type Database = DatabaseConnection & Models;

/** An open connection and what its server can do; the models are registered by src/models.ts. */
export interface DatabaseConnection {
  connection: Connection;
  capabilities: Capabilities;
  /** Makes this process's writes to one document take turns where the engine needs it. */
  turns: DocumentTurns;
  /** Options of the list reads (pages of posts, users, tags, follows, the feed). */
  listReads: ListReads;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dbName: string;
  poolSize?: number;
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  autoIndex?: boolean;
  /** Write and read concerns, list reads' preference, retries; default: defaultReplication(). */
  replication?: Replication;
  /** Emit driver command events (tests count database commands per request). */
  monitorCommands?: boolean;
  /** Called with the driver client before it connects (metrics subscribe to its events). */
  watch?: (client: MongoClient) => void;
  /** Receives the driver's server-selection log (tests see which read preference a read used). */
  serverSelectionLog?: (entry: Record<string, unknown>) => void;
}

/** Connects and probes what the server can do. */
export async function openConnection(
  uri: string,
  options: ConnectOptions,
): Promise<DatabaseConnection> {
  const replication = options.replication ?? defaultReplication();
  // Without it, a server restart can leave the driver's monitor waiting for ever (see there).
  guardSocketWrites();
  const connection = mongoose.createConnection(uri, {
    ...replicationOptions(replication),
    dbName: options.dbName,
    maxPoolSize: options.poolSize ?? 20,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
    connectTimeoutMS: options.connectTimeoutMS ?? 10_000,
    autoIndex: options.autoIndex ?? false,
    autoCreate: options.autoIndex ?? false,
    // Fail fast instead of queueing operations while disconnected.
    bufferCommands: false,
    sanitizeFilter: true,
    monitorCommands: options.monitorCommands ?? false,
    ...(options.serverSelectionLog
      ? {
          mongodbLogPath: { write: options.serverSelectionLog },
          mongodbLogComponentSeverities: { serverSelection: 'debug' as const },
        }
      : {}),
  });
  options.watch?.(connection.getClient());
  await connection.asPromise();
  const capabilities = await probeCapabilities(connection);
  return {
    connection,
    capabilities,
    turns: documentTurns(capabilities.atomicUpdates),
    listReads: { readPreference: replication.listReadPreference },
    close: () => connection.close(),
  };
}
