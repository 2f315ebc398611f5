import type { MigrateMongoConfig } from 'migrate-mongo';
import { loadConfig } from '../config.ts';
import { useLocalEngine } from '../db/local-engine.ts';
import { replicationOptions } from '../db/replication.ts';
import { loadDotEnv } from '../process/env-file.ts';
import { fromProjectRoot } from '../process/project-root.ts';
import { logLine } from '../process/script-log.ts';
import { setBatchDefaults } from './migration-kit.js';
import { migrateMongoSettings } from './settings.ts';

/**
 * The settings for the plain `npx migrate-mongo` CLI (see migrate-mongo-config.js): the same .env,
 * MONGODB_URI and MONGODB_DB as the app, or else the shared local engine (the running app's, or
 * one started for this command).
 */
export async function migrateMongoCliConfig(): Promise<MigrateMongoConfig> {
  loadDotEnv();
  const config = loadConfig();
  setBatchDefaults({ batchSize: config.migrations.batchSize });
  // `create` only copies a file; starting a database server for it would be wasted time.
  if (process.argv[2] === 'create' || config.mongo.uri) {
    return migrateMongoSettings(
      config.mongo.uri ?? 'mongodb://127.0.0.1/',
      config.mongo.dbName,
      undefined,
      replicationOptions(config.mongo.replication),
    );
  }
  const command = `migrate-mongo ${process.argv[2] ?? ''}`.trim();
  const engine = await useLocalEngine({
    engine: config.embedded.engine,
    dataDir: fromProjectRoot(config.embedded.dataDir),
    port: config.embedded.port,
    command,
    log: (line) => process.stderr.write(logLine(command, line)),
  });
  // migrate-mongo ends with process.exit(), where nothing asynchronous runs: this process stops
  // counting as a user, and the engine host stops the engine within seconds if it was the last.
  process.once('exit', () => engine.leave());
  return migrateMongoSettings(
    engine.uri,
    config.mongo.dbName,
    undefined,
    replicationOptions(config.mongo.replication),
  );
}
