import { createServer, type Server } from 'node:http';
import { createApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import type { Database } from './db/connection.ts';
import { isUnavailableError } from './db/errors.ts';
import { useLocalEngine } from './db/local-engine.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { createMetrics, type Metrics, metricsServer } from './http/metrics.ts';
import { createProcessLogger, type Logger } from './logger.ts';
import { extractModelState } from './migrations/model-state.ts';
import { enforceMigrationPolicy } from './migrations/runner.ts';
import { watchSchema } from './migrations/schema-watch.ts';
import { connectDatabase } from './models.ts';
import { connectWithRetry } from './process/connect-with-retry.ts';
import { loadDotEnv } from './process/env-file.ts';
import { applyHeapPolicy } from './process/heap.ts';
import { launcherName, watchNpmParent } from './process/launcher.ts';
import { fromProjectRoot } from './process/project-root.ts';
import { closeServer, createShutdown, type Shutdown } from './process/shutdown.ts';
import { redactSecrets } from './shared/connection-string.ts';
import { startTagReconciler } from './tags/reconciler.ts';

/** A server that cannot be reached yet; anything else (a bad URI, bad credentials) is final. */
const worthRetrying = (error: unknown) =>
  isUnavailableError(error) || (error as Error).name === 'MongooseServerSelectionError';

/**
 * Node's own bound on a request's arrival: a client that has not sent its whole request (headers
 * and body) within `requestTimeoutMs` gets 408 and its connection is closed. Node checks every
 * connectionsCheckingInterval (30 s by default): once a second, the cut comes near the bound.
 */
function httpServer(app: ReturnType<typeof createApp>, requestTimeoutMs: number): Server {
  return createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(60_000, requestTimeoutMs),
      connectionsCheckingInterval: 1000,
    },
    app,
  );
}

/** The data folder's shared engine: the one another command runs, or one started here. */
async function localEngineUri(config: Config, logger: Logger, shutdown: Shutdown): Promise<string> {
  const engine = await useLocalEngine({
    engine: config.embedded.engine,
    dataDir: fromProjectRoot(config.embedded.dataDir),
    port: config.embedded.port,
    command: launcherName(),
    log: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
    signal: shutdown.signal,
  });
  const unwatch = engine.watchHost((message) => logger.error(message));
  shutdown.onShutdown('embedded engine', () => {
    unwatch();
    return engine.release();
  });
  return engine.uri;
}

async function connect(
  config: Config,
  uri: string,
  metrics: Metrics | undefined,
  logger: Logger,
  shutdown: Shutdown,
): Promise<Database> {
  const target = redactSecrets(uri);
  logger.info({ db: config.mongo.dbName, server: target }, `using database ${config.mongo.dbName}`);
  const db = await connectWithRetry(
    () =>
      connectDatabase(uri, {
        ...config.mongo,
        // Command durations come from command monitoring events, emitted only when asked for.
        monitorCommands: metrics !== undefined,
        watch: metrics?.watchMongo,
      }),
    {
      attempts: config.lifecycle.connectAttempts,
      backoffMs: config.lifecycle.connectBackoffMs,
      retryable: worthRetrying,
      log: (message) => logger.warn({ target }, message),
      signal: shutdown.signal,
    },
  );
  shutdown.onShutdown('database connection', () => db.close());
  logger.info({ capabilities: db.capabilities, db: config.mongo.dbName }, 'database connected');
  return db;
}

/** Listens and gives the bound port (0 asks for a free one). */
async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

async function start(config: Config, logger: Logger, shutdown: Shutdown): Promise<void> {
  const uri = config.mongo.uri ?? (await localEngineUri(config, logger, shutdown));
  const metrics = config.metrics.enabled ? createMetrics() : undefined;
  const db = await connect(config, uri, metrics, logger, shutdown);
  const client = db.connection.getClient();
  const migrations = { client, db: client.db(config.mongo.dbName) };
  await enforceMigrationPolicy({
    target: migrations,
    uri,
    config,
    log: logger,
    signal: shutdown.signal,
  });
  const schema = watchSchema({
    db: migrations.db,
    models: extractModelState(Object.values(db.connection.models)),
    intervalMs: config.migrations.watchSeconds * 1000,
    log: logger,
  });
  shutdown.onShutdown('schema watch', async () => schema.stop());
  await schema.started();
  const reconciler = startTagReconciler({
    db,
    logger,
    intervalMs: config.tags.reconcileIntervalMs,
    fullCheckIntervalMs: config.tags.fullCheckIntervalMs,
  });
  shutdown.onShutdown('tag reconciler', () => reconciler.stop());
  const server = httpServer(
    createApp({ config, db, logger, metrics, schema }),
    config.http.requestTimeoutMs,
  );
  const port = await listen(server, config.port, config.host);
  answerClientErrors(server);
  shutdown.onShutdown('http server', () => closeServer(server));
  logger.info(`listening on http://${config.host}:${port}`);
  if (metrics && config.metrics.port !== undefined) {
    const metricsListener = metricsServer(metrics);
    const metricsPort = await listen(metricsListener, config.metrics.port, config.metrics.host);
    shutdown.onShutdown('metrics server', () => closeServer(metricsListener));
    logger.info(`metrics on http://${config.metrics.host}:${metricsPort}/metrics`);
  } else if (metrics) {
    logger.info(`metrics on /metrics of this port for ${config.metrics.allow.join(', ')}`);
  }
}

async function main(): Promise<void> {
  loadDotEnv();
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
  applyHeapPolicy(config.lifecycle.heapGrowingPercent);
  const logger = await createProcessLogger(config.logLevel, config.logFormat);
  const shutdown = createShutdown({
    logger,
    timeoutMs: config.lifecycle.shutdownTimeoutMs,
    exit: (code) => process.exit(code),
  });
  // From the start, so that a signal during start-up retries shuts down cleanly too.
  shutdown.handleProcessEvents(process);
  watchNpmParent(shutdown);
  try {
    await start(config, logger, shutdown);
  } catch (error) {
    // A shutdown that began during start-up finishes (and exits) on its own.
    if (shutdown.signal.aborted) return;
    logger.fatal({ err: error }, 'start-up failed');
    console.error(`start-up failed: ${(error as Error).message.split('\n')[0]}`);
    process.exit(1);
  }
}

await main();
