import type { Connection } from 'mongoose';
import { type ConnectOptions, type DatabaseConnection, openConnection } from './db/connection.ts';
import { followModel } from './follows/model.ts';
import { postModel } from './posts/model.ts';
import { tagModel, tagRepairModel } from './tags/model.ts';
import { userModel } from './users/model.ts';
import { presenceModel } from './users/presence-model.ts';

/**
 * The composition root of the data layer: every model of the app, registered on a connection
 * (also what migrations are generated from). src/db/ knows no feature; this file knows them all,
 * and imports nothing but their model files.
 */
export function registerModels(connection: Connection) {
  return {
    User: userModel(connection),
    Post: postModel(connection),
    Tag: tagModel(connection),
    TagRepair: tagRepairModel(connection),
    Follow: followModel(connection),
    Presence: presenceModel(connection),
  };
}

export type Models = ReturnType<typeof registerModels>;

/** The open connection with the app's models on it: what features read and write through. */
export type Database = DatabaseConnection & Models;

/** Connects, probes what the server can do, and registers the models on this connection. */
export async function connectDatabase(uri: string, options: ConnectOptions): Promise<Database> {
  const opened = await openConnection(uri, options);
  const models = registerModels(opened.connection);
  if (options.autoIndex) await Promise.all(Object.values(models).map((model) => model.init()));
  return { ...opened, ...models };
}
