import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
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
 * environment): it prints {"port": n} once listening, and over IPC reports what it spent in each
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

export interface ServerProcess {
  url: string;
  /** Opens a measured window in the server (with a CPU profile written to `profile`). */
  startWindow(profile?: string): Promise<void>;
  stopWindow(): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

/** Sends one message over the child's IPC channel and waits for the reply of type `reply`. */
function ask<T>(child: ChildProcess, message: UsageMessage, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; usage?: T }) => {
      if (m.type !== reply) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m.usage as T);
    };
    const onExit = () => {
      child.off('message', onMessage);
      reject(new Error(`server process exited while the bench waited for "${reply}"`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

/** Starts this file as `kind`, with the API's node flags (as npm start), and waits for its port. */
export function startServer(
  kind: 'api' | 'baseline' | 'express',
  env: NodeJS.ProcessEnv,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...API_NODE_FLAGS, import.meta.filename, kind], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${kind} server exited (${code}): ${stderr.trim().split('\n').at(-1)}`)),
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      const { port } = JSON.parse(line) as { port: number };
      // The app's own log lines (warnings) are not ours to parse; keep the pipe drained.
      child.stdout?.resume();
      resolve({
        url: `http://127.0.0.1:${port}`,
        startWindow: (profile) => ask<void>(child, { type: 'start', profile }, 'started'),
        stopWindow: () => ask<ProcessUsage>(child, { type: 'stop' }, 'usage'),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  installUsageProbe(server);
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

if (import.meta.filename === process.argv[1]) {
  await serve(process.argv[2] ?? '').catch((error: Error) => {
    console.error(`bench server failed: ${error.message.split('\n')[0]}`);
    process.exit(1);
  });
}
