import type { MigrateMongoConfig } from 'migrate-mongo';
import { loadConfig } from '../config.ts';
import { setBatchDefaults } from './migration-kit.js';
import { loadDotEnv, resolveMigrationServer } from './server.ts';
import { migrateMongoSettings } from './settings.ts';

/**
 * The settings for the plain `npx migrate-mongo` CLI (see migrate-mongo-config.js): the same .env,
 * MONGODB_URI and MONGODB_DB as the app, or the embedded engine when MONGODB_URI is unset.
 */
export async function migrateMongoCliConfig(): Promise<MigrateMongoConfig> {
  loadDotEnv();
  const config = loadConfig();
  setBatchDefaults({ batchSize: config.migrations.batchSize });
  // `create` only copies a file; starting a database server for it would be wasted time.
  if (process.argv[2] === 'create') {
    return migrateMongoSettings('mongodb://127.0.0.1/', config.mongo.dbName);
  }
  const server = await resolveMigrationServer(config, (line) => process.stderr.write(`${line}\n`));
  // migrate-mongo ends with process.exit(); stop() sends the embedded engine its SIGTERM at once.
  process.once('exit', () => void server.stop());
  return migrateMongoSettings(server.uri, config.mongo.dbName);
}
