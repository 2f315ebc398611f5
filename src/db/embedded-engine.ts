import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type EngineKind = 'mongod' | 'ferretdb';

export interface EmbeddedEngine {
  kind: EngineKind;
  /** Connection string without a database name. */
  uri: string;
  stop(): Promise<void>;
}

export interface EmbeddedEngineOptions {
  engine: 'auto' | EngineKind;
  /** Folder for the engine's files; omitted: a throw-away temporary folder (tests). */
  dataDir?: string;
  /** TCP port to listen on; omitted: a free one. Tests restart a server on the same port. */
  port?: number;
  log?: (message: string) => void;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export class EngineUnavailableError extends Error {}

/** Path of the FerretDB binary built by `npm run setup:offline-engine`, if it exists. */
export function ferretdbBinary(): string | undefined {
  const candidate = process.env.FERRETDB_PATH ?? join(projectRoot, '.tools/bin/ferretdb');
  return existsSync(candidate) ? candidate : undefined;
}

/**
 * Starts a real MongoDB-compatible server on 127.0.0.1. `auto` prefers a mongod that is already
 * on this machine (MONGOMS_SYSTEM_BINARY or mongodb-memory-server's cache), then FerretDB built by
 * `npm run setup:offline-engine` (its presence says "this machine is offline"), then lets
 * mongodb-memory-server download mongod, and when that fails too (no internet) builds the offline
 * engine with Go, once.
 */
export async function startEmbeddedEngine(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const log = options.log ?? (() => {});
  if (options.engine === 'ferretdb') return startFerretdb(options, log);
  if (options.engine === 'mongod' || (await localMongodAvailable())) {
    return startMongod(options, log);
  }
  if (ferretdbBinary()) return startFerretdb(options, log);
  try {
    return await startMongod(options, log);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    log(`no mongod could be had (${reason})`);
    if (!(await buildOfflineEngine(log))) throw new EngineUnavailableError(NO_ENGINE);
    return startFerretdb(options, log);
  }
}

const NO_ENGINE =
  'No database engine: set MONGODB_URI, let mongodb-memory-server download mongod (needs internet), ' +
  'set MONGOMS_SYSTEM_BINARY to a mongod, or install Go and run `npm run setup:offline-engine`.';

/** Runs scripts/setup-offline-engine.sh when Go is installed; false when it cannot. */
async function buildOfflineEngine(log: (m: string) => void): Promise<boolean> {
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) return false;
  log(
    'building the offline engine (FerretDB, mongodump) with Go into .tools/bin: about a minute, once',
  );
  const script = join(projectRoot, 'scripts/setup-offline-engine.sh');
  const code = await new Promise<number | null>((done) => {
    spawn('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] }).once('exit', done);
  });
  if (code !== 0) throw new EngineUnavailableError(`setup-offline-engine failed (exit ${code})`);
  return ferretdbBinary() !== undefined;
}

async function localMongodAvailable(): Promise<boolean> {
  if (process.env.MONGOMS_SYSTEM_BINARY) return true;
  const { DryMongoBinary } = await import('mongodb-memory-server');
  const options = await DryMongoBinary.generateOptions();
  return (await DryMongoBinary.locateBinary(options)) !== undefined;
}

async function startMongod(
  { dataDir, port }: EmbeddedEngineOptions,
  log: (m: string) => void,
): Promise<EmbeddedEngine> {
  const { MongoMemoryReplSet } = await import('mongodb-memory-server');
  if (!ferretdbBinary())
    log('starting mongod from mongodb-memory-server (downloaded on first use)');
  if (dataDir) mkdirSync(join(dataDir, 'mongod'), { recursive: true });
  // A one-node replica set, so that transactions work as they do in production.
  const replSet = await MongoMemoryReplSet.create({
    replSet: { count: 1, storageEngine: 'wiredTiger', ip: '127.0.0.1' },
    instanceOpts:
      dataDir || port ? [{ ...(dataDir ? { dbPath: join(dataDir, 'mongod') } : {}), port }] : [],
  });
  const uri = replSet.getUri();
  log(`embedded mongod (replica set) at ${uri}`);
  return {
    kind: 'mongod',
    uri,
    stop: async () => {
      await replSet.stop({ doCleanup: !dataDir, force: false });
    },
  };
}

async function startFerretdb(
  { dataDir, port: wanted }: EmbeddedEngineOptions,
  log: (m: string) => void,
): Promise<EmbeddedEngine> {
  const binary = ferretdbBinary();
  if (!binary) throw new EngineUnavailableError(NO_ENGINE);
  const dir = dataDir ? join(dataDir, 'ferretdb') : mkdtempSync(join(tmpdir(), 'ferretdb-'));
  mkdirSync(dir, { recursive: true });
  const port = wanted ?? (await freePort());
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${resolve(dir)}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--state-dir=-',
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitForPort(port, child, 15_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new EngineUnavailableError(
      `FerretDB did not start: ${(error as Error).message} ${stderr.trim()}`,
    );
  }
  const uri = `mongodb://127.0.0.1:${port}/`;
  log(`embedded FerretDB (SQLite in ${dir}) at ${uri}`);
  return {
    kind: 'ferretdb',
    uri,
    stop: async () => {
      await stopChild(child);
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
    socket.connect(port, '127.0.0.1');
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
