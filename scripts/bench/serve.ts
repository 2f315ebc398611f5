import { createServer, type Server } from 'node:http';
import { MongoClient } from 'mongodb';
import { createApp } from '../../src/app.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { connectDatabase } from '../../src/models.ts';
import { applyHeapPolicy } from '../../src/process/heap.ts';
import { baselineListener, expressFloor } from './baseline.ts';
import { installUsageProbe } from './usage.ts';

/**
 * A server under load, in its own process so it does not share an event loop with the load
 * generator: `api` is the real app (createApp, as src/main.ts builds it, minus the embedded
 * engine), `baseline` the raw-driver server, `express` the bare Express routes of --floor. Both read the same environment (MONGODB_URI is
 * passed there, never on a command line) and print {"port": n} once listening. Over the IPC
 * channel the bench opens, each reports what it spent during a measured window (usage.ts).
 */
async function start(kind: string): Promise<{ server: Server; close: () => Promise<void> }> {
  const config = loadConfig(process.env);
  const uri = config.mongo.uri;
  if (!uri) throw new Error('MONGODB_URI is not set');
  if (kind === 'api' || kind === 'express') {
    applyHeapPolicy(config.lifecycle.heapGrowingPercent); // as src/main.ts does
    const db = await connectDatabase(uri, {
      dbName: config.mongo.dbName,
      poolSize: config.mongo.poolSize,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
      autoIndex: false,
    });
    const app =
      kind === 'api'
        ? createApp({ config, db, logger: createLogger(config.logLevel) })
        : expressFloor(db, createTokenService(config.auth));
    return { server: createServer(app), close: () => db.close() };
  }
  if (kind === 'baseline') {
    const client = await MongoClient.connect(uri, {
      maxPoolSize: config.mongo.poolSize,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
    });
    const listener = baselineListener(
      client.db(config.mongo.dbName),
      createTokenService(config.auth),
    );
    return { server: createServer(listener), close: () => client.close() };
  }
  throw new Error(`unknown server kind "${kind}" (api, baseline or express)`);
}

try {
  const { server, close } = await start(process.argv[2] ?? '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  installUsageProbe(server);
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address?.port })}\n`,
  );
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
} catch (error) {
  console.error(`bench server failed: ${(error as Error).message.split('\n')[0]}`);
  process.exit(1);
}
