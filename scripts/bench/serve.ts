import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { createApp } from '../../src/app.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { connectDatabase } from '../../src/models.ts';
import { applyHeapPolicy } from '../../src/process/heap.ts';
import { baselineListener, expressFloor } from './baseline.ts';
import { startProfile } from './profile.ts';

/**
 * A server under load, in its own process so it does not share an event loop with the load
 * generator: `api` is the real app (createApp, as src/main.ts builds it, minus the embedded
 * engine), `baseline` the raw-driver server, `express` the bare Express routes of --floor. Each
 * reads the environment (MONGODB_URI is passed there, never on a command line) and prints
 * {"port": n} once listening. Over the IPC channel the bench opens, each reports what it spent
 * during a measured window, by its own counters (not from `ps`).
 */

/** What a server process spent over one measured window. */
export interface ProcessUsage {
  requests: number;
  /** User + system CPU time of the whole process over the window, in microseconds. */
  cpuMicros: number;
  /** CPU time per request received in the window, in microseconds. */
  cpuMicrosPerRequest: number;
  /** Share of the window the event loop was busy (0..1). */
  eventLoopUtilization: number;
  /**
   * The process's resident-memory high-water mark (getrusage's maxrss) when the window closed.
   * Not sampled: reading /proc every few milliseconds costs more CPU than a request on a loaded
   * machine, and would be counted against it.
   */
  maxRssBytes: number;
  seconds: number;
  /** Where the CPU profile of the window was written, when one was asked for. */
  profile?: string;
}

/** Messages the bench sends a server process over its IPC channel. */
export type UsageMessage = { type: 'start'; profile?: string } | { type: 'stop' };

/**
 * Answers the bench's start/stop messages with the process's own counters over the window in
 * between; `profile` (a file name) also records a V8 CPU profile of the window.
 */
function installUsageProbe(server: Server): void {
  let requests = 0;
  server.on('request', () => {
    requests += 1;
  });
  let stop: (() => Promise<ProcessUsage>) | undefined;
  process.on('message', async (message: UsageMessage) => {
    if (message.type === 'start') {
      const stopProfile = message.profile ? await startProfile() : undefined;
      const [served, cpu, elu, started] = [
        requests,
        process.cpuUsage(),
        performance.eventLoopUtilization(),
        performance.now(),
      ];
      stop = async () => {
        const used = process.cpuUsage(cpu);
        const n = requests - served;
        await stopProfile?.(message.profile as string);
        return {
          requests: n,
          cpuMicros: used.user + used.system,
          cpuMicrosPerRequest: n > 0 ? (used.user + used.system) / n : 0,
          eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
          seconds: (performance.now() - started) / 1000,
          profile: message.profile,
        };
      };
      process.send?.({ type: 'started' });
    } else if (stop) {
      const usage = await stop();
      stop = undefined;
      process.send?.({ type: 'usage', usage });
    }
  });
}

async function start(kind: string): Promise<{ server: Server; close: () => Promise<void> }> {
  const config = loadConfig(process.env);
  const uri = config.mongo.uri;
  if (!uri) throw new Error('MONGODB_URI is not set');
  const { dbName, poolSize, serverSelectionTimeoutMS } = config.mongo;
  if (kind === 'api' || kind === 'express') {
    applyHeapPolicy(config.lifecycle.heapGrowingPercent); // as src/main.ts does
    const options = { dbName, poolSize, serverSelectionTimeoutMS, autoIndex: false };
    const db = await connectDatabase(uri, options);
    const app =
      kind === 'api'
        ? createApp({ config, db, logger: createLogger(config.logLevel) })
        : expressFloor(db, createTokenService(config.auth));
    return { server: createServer(app), close: () => db.close() };
  }
  if (kind === 'baseline') {
    const client = await MongoClient.connect(uri, {
      maxPoolSize: poolSize,
      serverSelectionTimeoutMS,
    });
    const listener = baselineListener(client.db(dbName), createTokenService(config.auth));
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
