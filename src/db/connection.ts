import mongoose, { type Connection } from 'mongoose';
import { type Capabilities, probeCapabilities } from './capabilities.ts';

/** An open connection and what its server can do; the models are registered by src/models.ts. */
export interface DatabaseConnection {
  connection: Connection;
  capabilities: Capabilities;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dbName: string;
  poolSize?: number;
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  autoIndex?: boolean;
  /** Emit driver command events (tests count database commands per request). */
  monitorCommands?: boolean;
}

/** Connects and probes what the server can do. */
export async function openConnection(
  uri: string,
  options: ConnectOptions,
): Promise<DatabaseConnection> {
  const connection = mongoose.createConnection(uri, {
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
  });
  await connection.asPromise();
  const capabilities = await probeCapabilities(connection);
  return { connection, capabilities, close: () => connection.close() };
}
