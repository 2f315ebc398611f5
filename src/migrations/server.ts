import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { startEmbeddedEngine } from '../db/embedded-engine.ts';
import { projectRoot } from './settings.ts';

export interface MigrationServer {
  uri: string;
  /** Stops the embedded engine if this process started it. */
  stop(): Promise<void>;
}

/** Reads the repository's .env (as `npm start` does) without overriding the environment. */
export function loadDotEnv(): void {
  const path = join(projectRoot, '.env');
  if (existsSync(path)) process.loadEnvFile(path);
}

/**
 * The server the migrations run against: MONGODB_URI, or else the embedded engine on the data
 * folder `npm start` uses, so that a fresh clone can migrate its local database. The embedded
 * engine's files belong to one process at a time: stop the app first, or point MONGODB_URI at it.
 */
export async function resolveMigrationServer(
  config: Config,
  log: (line: string) => void,
): Promise<MigrationServer> {
  if (config.mongo.uri) return { uri: config.mongo.uri, stop: async () => {} };
  const engine = await startEmbeddedEngine({
    engine: config.embedded.engine,
    dataDir: config.embedded.dataDir,
    log,
  });
  return { uri: engine.uri, stop: () => engine.stop() };
}
