import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { createApp } from '../../src/app.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { connectDatabase } from '../../src/models.ts';
import { applyHeapPolicy } from '../../src/process/heap.ts';
import { API_NODE_FLAGS } from '../../src/process/node-flags.ts';
import { baselineListener, expressFloor } from './baseline.ts';
import { startProfile } from './profile.ts';

/**
 * A server under load, in its own process (`node serve.ts api|baseline|express`, the URI in its
 * environment): over IPC, it says its port once listening, and reports what it spent in each
 * measured window by its own counters.
 */

/** What a server process spent over one measured window. */
export interface ProcessUsage {
  requests: number;
  /** User + system CPU time of the whole process, in microseconds. */
  cpuMicros: number;
  cpuMicrosPerRequest: number;
  /** Share of the window the event loop was busy (0..1). */
  eventLoopUtilization: number;
  /** getrusage's maxrss when the window closed (sampling /proc would cost more than a request). */
  maxRssBytes: number;
  seconds: number;
  /** Where the window's CPU profile was written, when one was asked for. */
  profile?: string;
}

type UsageMessage = { type: 'start'; profile?: string } | { type: 'stop' };

export type ServerProcess = Awaited<ReturnType<typeof startServer>>;

/** The child's next message of type `reply` over IPC, after sending it `message` if given. */
function ask<T>(child: ChildProcess, reply: string, message?: UsageMessage): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; value?: T }) => {
      if (m.type !== reply) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m.value as T);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`exited (${code}) while the bench waited for "${reply}"`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (message) child.send(message);
  });
}

/** Starts this file as `kind`, with the API's node flags (as npm start), and waits for its port. */
export async function startServer(kind: 'api' | 'baseline' | 'express', env: NodeJS.ProcessEnv) {
  // The app's own log lines (warnings) are not the bench's to read.
  const child = spawn(process.execPath, [...API_NODE_FLAGS, import.meta.filename, kind], {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const port = await ask<number>(child, 'listening').catch((error: Error) => {
    throw new Error(`${kind} server ${error.message}: ${stderr.trim().split('\n').at(-1)}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    /** Opens a measured window in the server (with a CPU profile written to `profile`). */
    startWindow: (profile?: string) => ask<void>(child, 'started', { type: 'start', profile }),
    stopWindow: () => ask<ProcessUsage>(child, 'usage', { type: 'stop' }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Answers start/stop with the process's own counters over the window in between. */
function installUsageProbe(server: Server): void {
  let requests = 0;
  server.on('request', () => {
    requests += 1;
  });
  let stop: (() => Promise<ProcessUsage>) | undefined;
  process.on('message', async (message: UsageMessage) => {
    if (message.type === 'start') {
      const stopProfile = message.profile ? await startProfile() : undefined;
      const served = requests;
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      const started = performance.now();
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
      process.send?.({ type: 'usage', value: usage });
    }
  });
}

/** The listener of `kind` (`api` is createApp as src/main.ts builds it, minus the embedded engine). */
async function open(kind: string) {
  const config = loadConfig(process.env);
  const uri = config.mongo.uri;
  if (!uri) throw new Error('MONGODB_URI is not set');
  const { dbName, poolSize, serverSelectionTimeoutMS } = config.mongo;
  if (kind === 'api' || kind === 'express') {
    applyHeapPolicy(config.lifecycle.heapGrowingPercent); // as src/main.ts does
    const options = { dbName, poolSize, serverSelectionTimeoutMS, autoIndex: false };
    const db = await connectDatabase(uri, options);
    const listener: RequestListener =
      kind === 'api'
        ? createApp({ config, db, logger: createLogger(config.logLevel) })
        : expressFloor(db, createTokenService(config.auth));
    return { listener, close: () => db.close() };
  }
  if (kind !== 'baseline')
    throw new Error(`unknown server kind "${kind}" (api, baseline or express)`);
  const options = { maxPoolSize: poolSize, serverSelectionTimeoutMS };
  const client = await MongoClient.connect(uri, options);
  const listener = baselineListener(client.db(dbName), createTokenService(config.auth));
  return { listener, close: () => client.close() };
}

async function serve(kind: string): Promise<void> {
  const { listener, close } = await open(kind);
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  installUsageProbe(server);
  process.send?.({ type: 'listening', value: (server.address() as AddressInfo).port });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    const exit = (code: number) => () => process.exit(code);
    close().then(exit(0), exit(1));
  });
}

if (import.meta.filename === process.argv[1]) {
  await serve(process.argv[2] ?? '').catch((error: Error) => {
    console.error(`bench server failed: ${error.message.split('\n')[0]}`);
    process.exit(1);
  });
}
