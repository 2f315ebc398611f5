import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../process/free-port.ts';
import { projectRoot } from '../process/project-root.ts';
import { ScriptError } from '../process/script-error.ts';

export type EngineKind = 'mongod' | 'ferretdb';

export interface EmbeddedEngine {
  kind: EngineKind;
  /** Connection string without a database name. */
  uri: string;
  /** The server process (FerretDB or mongod), to find it again after its owner died. */
  pid?: number;
  /** Settles when the server process exits, stopped or not (its host restarts a dead one). */
  exited: Promise<void>;
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

/** The engine cannot be had (none installed, a failed build, a start that did not answer). */
export class EngineUnavailableError extends ScriptError {
  constructor(message: string) {
    super('engine-unavailable', message);
    this.name = 'EngineUnavailableError';
  }
}

/** Path of the FerretDB binary built by `npm run setup:offline-engine`, if it exists. */
export function ferretdbBinary(): string | undefined {
  const candidate = process.env.FERRETDB_PATH ?? join(projectRoot, '.tools/bin/ferretdb');
  return existsSync(candidate) ? candidate : undefined;
}

/**
 * Starts a real MongoDB-compatible server on 127.0.0.1, of the kind `resolveEngineKind` picks.
 * Tests and the benchmark use a throw-away one (no dataDir); the commands share one engine per
 * data folder through src/db/local-engine.ts, which runs this in its engine host process.
 */
export async function startEmbeddedEngine(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const log = options.log ?? (() => {});
  const kind = await resolveEngineKind(options.engine, log);
  return kind === 'mongod' ? startMongod(options, log) : startFerretdb(options, log);
}

/**
 * Which engine `auto` means on this machine: a mongod that is already here
 * (MONGOMS_SYSTEM_BINARY or mongodb-memory-server's cache), then FerretDB built by
 * `npm run setup:offline-engine` (its presence says "this machine is offline"), then a mongod
 * mongodb-memory-server downloads; when that fails too (no internet), one line says so and the
 * offline engine is built with Go, once, its output going through `log`.
 */
export async function resolveEngineKind(
  engine: 'auto' | EngineKind,
  log: (message: string) => void,
): Promise<EngineKind> {
  if (engine !== 'auto') {
    if (engine === 'ferretdb' && !ferretdbBinary()) throw new EngineUnavailableError(NO_ENGINE);
    return engine;
  }
  if (await localMongodAvailable()) return 'mongod';
  if (ferretdbBinary()) return 'ferretdb';
  const memoryServer = await loadMemoryServer();
  if (!memoryServer) throw new EngineUnavailableError(NO_ENGINE_IN_PRODUCTION_INSTALL);
  log('no mongod on this machine: downloading one (mongodb-memory-server)');
  try {
    const { MongoBinary } = memoryServer;
    await MongoBinary.getPath();
    return 'mongod';
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error))
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ');
    log(`mongod could not be downloaded (${reason}); building the offline engine instead`);
  }
  if (!(await buildOfflineEngine(log))) throw new EngineUnavailableError(NO_ENGINE);
  return 'ferretdb';
}

const NO_ENGINE_IN_PRODUCTION_INSTALL =
  'MONGODB_URI is not set: set it to your MongoDB (e.g. mongodb://db.example.com:27017/microblog); ' +
  'this install has no development dependencies, so no local engine';

/**
 * mongodb-memory-server, a development dependency: undefined in a production install
 * (`npm ci --omit=dev`), where only MONGODB_URI (or an offline engine in .tools) can serve.
 */
async function loadMemoryServer(): Promise<typeof import('mongodb-memory-server') | undefined> {
  try {
    return await import('mongodb-memory-server');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

const NO_ENGINE =
  'No database engine: set MONGODB_URI, let mongodb-memory-server download mongod (needs internet), ' +
  'set MONGOMS_SYSTEM_BINARY to a mongod, or install Go and run `npm run setup:offline-engine`.';

/**
 * Runs scripts/setup-offline-engine.sh when Go is installed (false when it is not). Its output
 * goes through `log` line by line, with a line every 15 s while Go compiles in silence.
 */
async function buildOfflineEngine(log: (m: string) => void): Promise<boolean> {
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) return false;
  log(
    'building the offline engine (FerretDB, mongodump) with Go into .tools/bin: once, up to ~95 s',
  );
  const started = Date.now();
  const script = join(projectRoot, 'scripts/setup-offline-engine.sh');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim()) log(`offline engine: ${line.trim()}`);
    });
  }
  const heartbeat = setInterval(() => {
    log(`offline engine: still building (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 15_000);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  clearInterval(heartbeat);
  if (code !== 0) throw new EngineUnavailableError(`setup-offline-engine failed (exit ${code})`);
  log(`offline engine built in ${Math.round((Date.now() - started) / 1000)} s`);
  return ferretdbBinary() !== undefined;
}

async function localMongodAvailable(): Promise<boolean> {
  if (process.env.MONGOMS_SYSTEM_BINARY) return true;
  const memoryServer = await loadMemoryServer();
  if (!memoryServer) return false;
  const { DryMongoBinary } = memoryServer;
  const options = await DryMongoBinary.generateOptions();
  return (await DryMongoBinary.locateBinary(options)) !== undefined;
}

/** The replica set's name, stored in its configuration on disk: it must never change. */
const REPLICA_SET_NAME = 'microblog';

/**
 * A one-node replica set, so that transactions work as they do in production. With a data folder
 * the port must be the one it was first started on: the replica set configuration stored in
 * local.system.replset names the member as 127.0.0.1:<port>, and mongodb-memory-server restarts
 * an initialised set by forcing that stored configuration back in (replSetReconfig force). On the
 * same host:port the member finds itself in it and elects itself; on another port it finds no
 * member that is itself and the set stays without a primary. So the local engine always passes
 * EMBEDDED_PORT, checks it is free first (mongodb-memory-server would quietly take another port
 * when it is not), and checks afterwards that mongod listens where it was told.
 */
async function startMongod(
  { dataDir, port }: EmbeddedEngineOptions,
  log: (m: string) => void,
): Promise<EmbeddedEngine> {
  const memoryServer = await loadMemoryServer();
  if (!memoryServer) throw new EngineUnavailableError(NO_ENGINE_IN_PRODUCTION_INSTALL);
  const { MongoMemoryReplSet } = memoryServer;
  if (port !== undefined) await assertPortFree(port);
  if (dataDir) mkdirSync(join(dataDir, 'mongod'), { recursive: true });
  const replSet = await MongoMemoryReplSet.create({
    replSet: { count: 1, name: REPLICA_SET_NAME, storageEngine: 'wiredTiger', ip: '127.0.0.1' },
    instanceOpts:
      dataDir || port ? [{ ...(dataDir ? { dbPath: join(dataDir, 'mongod') } : {}), port }] : [],
  });
  const info = replSet.servers[0]?.instanceInfo;
  if (port !== undefined && info?.port !== port) {
    await replSet.stop({ doCleanup: false, force: true });
    throw new EngineUnavailableError(`mongod did not listen on port ${port} (got ${info?.port})`);
  }
  const uri = replSet.getUri();
  log(`embedded mongod (replica set ${REPLICA_SET_NAME}) at ${uri}`);
  const child = info?.instance.mongodProcess;
  return {
    kind: 'mongod',
    uri,
    pid: child?.pid,
    exited: child ? exitOf(child) : new Promise(() => {}),
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
  if (wanted !== undefined) await assertPortFree(wanted);
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
    pid: child.pid,
    exited: exitOf(child),
    stop: async () => {
      await stopChild(child);
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The port taken by another program is a clear error, never a silent move to another port. */
async function assertPortFree(port: number): Promise<void> {
  if (await canConnect(port)) {
    throw new EngineUnavailableError(
      `port ${port} on 127.0.0.1 is already in use by another program: set EMBEDDED_PORT to a free port`,
    );
  }
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

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

export function canConnect(port: number): Promise<boolean> {
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

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = exitOf(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  child.kill('SIGTERM');
  await exited;
  clearTimeout(timer);
}
