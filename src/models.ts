import type { Connection } from 'mongoose';
import {
  type ConnectOptions,
  type Database,
  type Models,
  openConnection,
} from './db/connection.ts';
import { followModel } from './follows/model.ts';
import { postModel } from './posts/model.ts';
import { tagModel, tagRepairModel } from './tags/model.ts';
import { userModel } from './users/model.ts';
import { presenceModel } from './users/presence-model.ts';

/**
 * The composition root of the data layer: every model of the app, registered on a connection
 * (also what migrations are generated from). src/db/ knows no feature; this file knows them all,
 * and imports nothing but their model files. Features take the `Database` type from src/db/.
 */
export function registerModels(connection: Connection): Models {
  return {
    User: userModel(connection),
    Post: postModel(connection),
    Tag: tagModel(connection),
    TagRepair: tagRepairModel(connection),
    Follow: followModel(connection),
    Presence: presenceModel(connection),
  };
}

/** Connects, probes what the server can do, and registers the models on this connection. */
export async function connectDatabase(uri: string, options: ConnectOptions): Promise<Database> {
  const opened = await openConnection(uri, options);
  const models = registerModels(opened.connection);
  if (options.autoIndex) await Promise.all(Object.values(models).map((model) => model.init()));
  return { ...opened, ...models };
}
