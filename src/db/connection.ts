import type { MongoClient } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import type { Replication } from '../config.ts';
import { type Capabilities, type EngineRules, probeCapabilities } from './capabilities.ts';
import { useDocumentTurns } from './document-turns.ts';
import { type ListReads, mongoSettingsOf, replicationOptions } from './replication.ts';
import { requestSignalPlugin } from './request-signal.ts';
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
  /** Options of the list reads (pages of posts, users, tags, follows, the feed). */
  listReads: ListReads;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dbName: string;
  poolSize?: number;
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  /** How long a command waits for its reply before its connection is closed (0: for ever). */
  socketTimeoutMS?: number;
  /** How long an operation waits for a pooled connection (0: for ever). */
  waitQueueTimeoutMS?: number;
  autoIndex?: boolean;
  /** Write and read concerns, list reads' preference, retries; default: the environment's. */
  replication?: Replication;
  /** What the server's identity does not tell (MONGODB_ATOMIC_UPDATES, _UPSERTS); default: its identity. */
  engineRules?: EngineRules;
  /** Emit driver command events (tests count database commands per request). */
  monitorCommands?: boolean;
  /** Called with the driver client before it connects (metrics subscribe to its events). */
  watch?: (client: MongoClient) => void;
  /** Receives the driver's server-selection log (tests see which read preference a read used). */
  serverSelectionLog?: (entry: Record<string, unknown>) => void;
}

/**
 * Connects, learns what the server is (hello and buildInfo: nothing is written), and makes the
 * models that will be registered on this connection work around what the engine lacks.
 */
export async function openConnection(
  uri: string,
  options: ConnectOptions,
): Promise<DatabaseConnection> {
  // The environment's settings, read once, for what the caller did not give.
  let settings: ReturnType<typeof mongoSettingsOf> | undefined;
  const fromEnv = () => {
    settings ??= mongoSettingsOf();
    return settings;
  };
  const replication = options.replication ?? fromEnv().replication;
  // Without it, a server restart can leave the driver's monitor waiting for ever (see there).
  guardSocketWrites();
  const connection = mongoose.createConnection(uri, {
    ...replicationOptions(replication),
    dbName: options.dbName,
    maxPoolSize: options.poolSize ?? 20,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
    connectTimeoutMS: options.connectTimeoutMS ?? 10_000,
    // The driver's own deadlines for a request's calls: its timeoutMS does nothing in 7.8.
    socketTimeoutMS: options.socketTimeoutMS ?? 0,
    waitQueueTimeoutMS: options.waitQueueTimeoutMS ?? 0,
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
  const capabilities = await probeCapabilities(
    connection,
    options.engineRules ?? fromEnv().engineRules,
  );
  useDocumentTurns(connection, capabilities.atomicUpdates);
  connection.plugin(requestSignalPlugin);
  return {
    connection,
    capabilities,
    listReads: { readPreference: replication.listReadPreference },
    close: () => connection.close(),
  };
}
