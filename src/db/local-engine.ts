import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../process/project-root.ts';
import { type EngineKind, EngineUnavailableError } from './embedded-engine.ts';
import {
  ENGINE_LOG,
  type EngineMessage,
  engineSocketPath,
  type Holder,
  lastLogLine,
  onMessages,
  send,
} from './engine-record.ts';

export interface LocalEngineOptions {
  engine: 'auto' | EngineKind;
  /** Absolute path of the data folder (EMBEDDED_DATA_DIR). */
  dataDir: string;
  /** EMBEDDED_PORT: fixed, so that every command finds the engine and mongod can restart. */
  port: number;
  /** Who uses the engine, for the record and for log lines ("npm start", "migrate up"). */
  command: string;
  log: (line: string) => void;
  /** Something the operator should look at (default: `log` with "warning: " in front). */
  warn?: (line: string) => void;
  signal?: AbortSignal;
}

export interface LocalEngine {
  uri: string;
  engine: EngineKind;
  /** This command started the engine (false: it was running already). */
  started: boolean;
  /** Stops using it; the last process to let go stops the engine. Safe to call twice. */
  release(): Promise<void>;
  /** Synchronous, for an exit handler: closes the connection, which the host counts as a release. */
  leave(): void;
  /**
   * Calls `onGone` once, with the reason, if the engine's host process exits while this process
   * still uses it (it gave up restarting a dying engine, or was killed). Returns a stop function.
   */
  watchHost(onGone: (message: string) => void): () => void;
}

type Ready = Extract<EngineMessage, { type: 'ready' }>;

const HOST_SCRIPT = join(projectRoot, 'src/db/engine-host.ts');
/** A host that is stopping its engine keeps the socket meanwhile: we retry until it is gone. */
const ATTEMPTS = 150;
const RETRY_MS = 200;
/** The first start may build the offline engine with Go: minutes. */
const READY_WAIT_MS = 15 * 60_000;

/**
 * The engine of a data folder, shared by every command: connects to the host process that runs
 * it (src/db/engine-host.ts), or spawns one (detached, so it outlives the command that started
 * it while others still use it). The open connection is what makes this process a user.
 */
export async function useLocalEngine(options: LocalEngineOptions): Promise<LocalEngine> {
  mkdirSync(options.dataDir, { recursive: true });
  const waitFor = sayOnceWhom(options.log);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    options.signal?.throwIfAborted();
    const host = await reachHost(options);
    const ready = host.socket && (await handshake(host.socket, options, waitFor));
    if (host.socket && ready) return attach(host.socket, ready, options);
    if (host.ours) throw notStarted(options.dataDir, lastLogLine(options.dataDir));
    await sleep(RETRY_MS);
  }
  throw new EngineUnavailableError(
    `the engine host of ${options.dataDir} kept stopping for ${(ATTEMPTS * RETRY_MS) / 1000} s`,
  );
}

/** The host on the data folder's socket, or one spawned for it (`ours`: it bound the socket). */
async function reachHost(options: LocalEngineOptions): Promise<{ socket?: Socket; ours: boolean }> {
  const socket = await connectHost(options.dataDir);
  if (socket) return { socket, ours: false };
  const ours = await spawnHost(options);
  return { socket: await connectHost(options.dataDir), ours };
}

function connectHost(dataDir: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(engineSocketPath(dataDir), () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

/** Resolves once the host bound the socket (true) or found another host on it (false). */
function spawnHost(options: LocalEngineOptions): Promise<boolean> {
  const { dataDir, port, command } = options;
  const out = openSync(join(dataDir, ENGINE_LOG), 'a');
  const spec = { engine: options.engine, dataDir, port, command, startedBy: process.pid };
  const child = spawn(process.execPath, [HOST_SCRIPT], {
    cwd: projectRoot,
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, LOCAL_ENGINE_SPEC: JSON.stringify(spec) },
  });
  closeSync(out);
  return new Promise((resolve, reject) => {
    child.once('message', (message: { type: string }) => {
      child.disconnect();
      child.unref();
      resolve(message.type === 'bound');
    });
    child.once('exit', () => reject(notStarted(dataDir, lastLogLine(dataDir))));
  });
}

/** Says hello and follows the host's answers: the engine once ready, undefined to retry. */
function handshake(
  socket: Socket,
  options: LocalEngineOptions,
  waitFor: (by: Holder) => void,
): Promise<Ready | undefined> {
  const warn = options.warn ?? ((line: string) => options.log(`warning: ${line}`));
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (ready: Ready | undefined, error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      stopListening();
      socket.off('close', onClose);
      if (!ready) socket.destroy();
      if (error === undefined) resolve(ready);
      else reject(error);
    };
    const fail = (error: unknown) => settle(undefined, error);
    const done = (ready?: Ready) => settle(ready);
    const timer = setTimeout(
      () => fail(notStarted(options.dataDir, `not ready within ${READY_WAIT_MS / 60_000} min`)),
      READY_WAIT_MS,
    );
    const onAbort = () => fail(options.signal?.reason);
    const onClose = () => done(undefined);
    const stopListening = onMessages(socket, (message) => {
      if (message.type === 'starting' || message.type === 'stopping') waitFor(message.by);
      if (message.type === 'log') options.log(message.line);
      if (message.type === 'warning') warn(message.line);
      if (message.type === 'failed') fail(notStarted(options.dataDir, message.line));
      if (message.type === 'ready') done(message);
      if (message.type === 'stopping') done(undefined);
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', onClose);
    send(socket, { type: 'hello', pid: process.pid, command: options.command });
  });
}

function sayOnceWhom(log: (line: string) => void): (by: Holder) => void {
  let said = false;
  return (by) => {
    if (said || by.pid === process.pid) return;
    said = true;
    log(
      `waiting for another command that is starting or stopping the engine: pid ${by.pid} (${by.command}) since ${by.since}`,
    );
  };
}

function attach(socket: Socket, ready: Ready, options: LocalEngineOptions): LocalEngine {
  const { dataDir, log } = options;
  if (ready.started) log(`started the ${ready.engine} engine at ${ready.uri} (data in ${dataDir})`);
  else log(`using the ${ready.engine} engine already running at ${ready.uri}`);
  if (ready.port !== options.port) {
    log(`note: the running engine listens on ${ready.port}, not EMBEDDED_PORT=${options.port}`);
  }
  // Being a user does not keep the command running, as a file of ours would not.
  socket.unref();
  let released: Promise<void> | undefined;
  const watchers = new Set<(message: string) => void>();
  socket.once('close', () => {
    if (released) return;
    const message = `the local ${ready.engine} engine is gone: its host process ${ready.hostPid} exited (last line of ${join(dataDir, ENGINE_LOG)}: ${lastLogLine(dataDir)}); requests get 503 until it is started again (restart the app, or npm run db)`;
    for (const onGone of watchers) onGone(message);
  });
  return {
    uri: ready.uri,
    engine: ready.engine,
    started: ready.started,
    release: () => {
      released ??= release(socket, log);
      return released;
    },
    leave: () => {
      released ??= Promise.resolve();
      socket.destroy();
    },
    watchHost: (onGone) => {
      watchers.add(onGone);
      return () => {
        watchers.delete(onGone);
      };
    },
  };
}

/** Resolves once the host has answered and closed the connection (or is gone). */
function release(socket: Socket, log: (line: string) => void): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  socket.ref();
  return new Promise((resolve) => {
    onMessages(socket, (message) => {
      if (message.type === 'left')
        log(`database engine left running: still used by ${message.users}`);
      if (message.type === 'stopped') log('database engine stopped');
    });
    socket.once('close', () => resolve());
    send(socket, { type: 'release' });
  });
}

function notStarted(dataDir: string, why: string): EngineUnavailableError {
  return new EngineUnavailableError(
    `the local engine did not start: ${why} (see ${join(dataDir, ENGINE_LOG)})`,
  );
}
