import mongoose, { type Model } from 'mongoose';
import { registerModels } from '../models.ts';

/** The app's models on a connection that never connects: only their schemas are read. */
export function appModels(): Model<unknown>[] {
  const connection = mongoose.createConnection();
  return Object.values(registerModels(connection)) as unknown as Model<unknown>[];
}
