import mongoose, { type Connection } from 'mongoose';
import type { Replication } from '../config.ts';
import { type FollowModel, followModel } from '../follows/model.ts';
import { type PostModel, postModel } from '../posts/model.ts';
import { type TagModel, tagModel } from '../tags/model.ts';
import { type UserModel, userModel } from '../users/model.ts';
import { type Capabilities, probeCapabilities } from './capabilities.ts';
import { defaultReplication, type ListReads, replicationOptions } from './replication.ts';

export interface Database {
  connection: Connection;
  User: UserModel;
  Post: PostModel;
  Tag: TagModel;
  Follow: FollowModel;
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
  autoIndex?: boolean;
  /** Write and read concerns, list reads' preference, retries; default: defaultReplication(). */
  replication?: Replication;
  /** Emit driver command events (tests count database commands per request). */
  monitorCommands?: boolean;
  /** Receives the driver's server-selection log (tests see which read preference a read used). */
  serverSelectionLog?: (entry: Record<string, unknown>) => void;
}

/** Every model of the app, registered on a connection (also what migrations are generated from). */
export function registerModels(connection: Connection) {
  return {
    User: userModel(connection),
    Post: postModel(connection),
    Tag: tagModel(connection),
    Follow: followModel(connection),
  };
}

/** Connects, probes what the server can do, and registers the models on this connection. */
export async function connectDatabase(uri: string, options: ConnectOptions): Promise<Database> {
  const replication = options.replication ?? defaultReplication();
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
  await connection.asPromise();
  const capabilities = await probeCapabilities(connection);
  const { User, Post, Tag, Follow } = registerModels(connection);
  if (options.autoIndex) await Promise.all([User.init(), Post.init(), Tag.init(), Follow.init()]);
  return {
    connection,
    User,
    Post,
    Tag,
    Follow,
    capabilities,
    listReads: { readPreference: replication.listReadPreference },
    close: () => connection.close(),
  };
}
