import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { connectDatabase, type Database } from './db/connection.ts';
import { type EmbeddedEngine, startEmbeddedEngine } from './db/embedded-engine.ts';
import { createLogger, type Logger } from './logger.ts';

async function start(config: Config, logger: Logger): Promise<() => Promise<void>> {
  let engine: EmbeddedEngine | undefined;
  let uri = config.mongo.uri;
  if (!uri) {
    engine = await startEmbeddedEngine({
      engine: config.embedded.engine,
      dataDir: config.embedded.dataDir,
      log: (message) => logger.info(message),
    });
    uri = engine.uri;
  }
  const db: Database = await connectDatabase(uri, {
    dbName: config.mongo.dbName,
    poolSize: config.mongo.poolSize,
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
    autoIndex: config.mongo.autoIndex,
  });
  logger.info({ capabilities: db.capabilities, db: config.mongo.dbName }, 'database connected');
  const app = createApp({ config, db, logger });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(`listening on http://${config.host}:${port}`);

  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.close();
    await engine?.stop();
  };
}

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let stop: () => Promise<void>;
  try {
    stop = await start(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    console.error(`start-up failed: ${(error as Error).message.split('\n')[0]}`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal}: shutting down`);
    try {
      await stop();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled rejection');
    void shutdown('unhandledRejection');
  });
}

await main();
