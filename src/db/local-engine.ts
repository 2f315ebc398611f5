import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../process/project-root.ts';
import { type EngineKind, EngineUnavailableError, resolveEngineKind } from './embedded-engine.ts';
import * as shared from './engine-socket.ts';

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
  /** How long a started host may take to say 'ready' (default 180 s). */
  readyMs?: number;
}

export interface LocalEngine {
  uri: string;
  engine: EngineKind;
  /** This command started the engine (false: it was running already). */
  started: boolean;
  /** Stops using it; the last process to let go stops the engine. Safe to call twice. */
  release(): Promise<void>;
  /** Synchronous, for an exit handler: closes the connection, which the host takes as a release. */
  leave(): void;
  /** Calls `onGone` with the reason if the engine's host exits while in use; returns the unwatch. */
  watchHost(onGone: (message: string) => void): () => void;
}

const HOST_SCRIPT = join(projectRoot, 'src/db/engine-host.ts');
/** A host stopping its engine keeps the socket meanwhile: retried until a new host can bind. */
const ATTEMPTS = 150;
const RETRY_MS = 200;
/** A live host answers a hello at once ('starting', 'ready' or 'stopping'); one that does not is stuck. */
const ANSWER_MS = 10_000;
/** A host's own start bounds (FerretDB 15 s, mongod's launch) end sooner; this is the backstop. */
const READY_MS = 180_000;

/**
 * The engine of a data folder, shared by every command: connects to the host process that runs
 * it (src/db/engine-host.ts), or spawns one (detached, so it outlives the command that started
 * it while others still use it). The open connection is what makes this process a user.
 */
export async function useLocalEngine(options: LocalEngineOptions): Promise<LocalEngine> {
  const { dataDir, signal } = options;
  mkdirSync(dataDir, { recursive: true });
  const waitFor = sayOnceWhom(options.log);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    signal?.throwIfAborted();
    let socket = await shared.connectHost(dataDir);
    const ours = !socket && (await spawnHost(options));
    socket ??= await shared.connectHost(dataDir);
    const ready = socket && (await converse(socket, options, waitFor));
    if (socket && ready) return attach(socket, ready, options);
    if (ours) throw notStarted(dataDir);
    await sleep(RETRY_MS);
  }
  throw new EngineUnavailableError(`the engine host of ${dataDir} kept stopping`);
}

/** Resolves once the new host has bound the socket (true) or found another host on it. */
async function spawnHost(options: LocalEngineOptions): Promise<boolean> {
  const kind = await resolveEngineKind(options.engine, options.log);
  const out = openSync(join(options.dataDir, shared.ENGINE_LOG), 'a');
  const starter = { pid: process.pid, command: options.command, since: new Date().toISOString() };
  const spec: shared.HostSpec = { kind, dataDir: options.dataDir, port: options.port, starter };
  const child = spawn(process.execPath, [HOST_SCRIPT], {
    cwd: projectRoot,
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, LOCAL_ENGINE_SPEC: JSON.stringify(spec) },
  });
  closeSync(out);
  const { bound } = await new Promise<{ bound: boolean }>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(notStarted(options.dataDir)));
  });
  child.disconnect();
  child.unref();
  return bound;
}

function notStarted(dataDir: string): EngineUnavailableError {
  const why = shared.lastLogLine(dataDir);
  return new EngineUnavailableError(
    `the local engine did not start: ${why} (see ${join(dataDir, shared.ENGINE_LOG)})`,
  );
}

/**
 * Says hello, then follows the host's messages for as long as the connection lasts: resolves
 * with 'ready', or undefined when the host closes it first (it is stopping, or exited).
 */
function converse(
  socket: Socket,
  options: LocalEngineOptions,
  waitFor: (by: shared.Holder) => void,
): Promise<shared.Ready | undefined> {
  const { command, dataDir, log, signal, readyMs = READY_MS } = options;
  const warn = options.warn ?? ((line: string) => log(`warning: ${line}`));
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    /** Every wait on the host is bounded: an answer at once, then the engine's start. */
    const expectWithin = (ms: number, what: string) => {
      clearTimeout(timer);
      const why = `${what} within ${ms / 1000} s (see ${join(dataDir, shared.ENGINE_LOG)})`;
      timer = setTimeout(() => fail(new EngineUnavailableError(why)), ms);
    };
    const onAbort = () => fail(signal?.reason);
    const settle = (ready?: shared.Ready) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ready);
    };
    expectWithin(ANSWER_MS, 'the engine host did not answer');
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => settle());
    shared.onMessages(socket, (message) => {
      if (message.type === 'starting') expectWithin(readyMs, 'the engine did not become ready');
      else if (message.type !== 'warning') clearTimeout(timer);
      if (message.type === 'starting' || message.type === 'stopping') waitFor(message.by);
      if (message.type === 'warning') warn(message.line);
      if (message.type === 'ready') settle(message);
      if (message.type === 'left')
        log(`database engine left running: still used by ${message.users}`);
      if (message.type === 'stopped') log('database engine stopped');
    });
    void shared.send(socket, { type: 'hello', pid: process.pid, command });
  });
}

function sayOnceWhom(log: (line: string) => void): (by: shared.Holder) => void {
  let said = false;
  return ({ pid, command, since }) => {
    if (said || pid === process.pid) return;
    said = true;
    log(
      `waiting for another command that is starting or stopping the engine: pid ${pid} (${command}) since ${since}`,
    );
  };
}

function attach(
  socket: Socket,
  ready: shared.Ready,
  { dataDir, port, log }: LocalEngineOptions,
): LocalEngine {
  if (ready.started) log(`started the ${ready.engine} engine at ${ready.uri} (data in ${dataDir})`);
  else log(`using the ${ready.engine} engine already running at ${ready.uri}`);
  if (ready.port !== port) {
    log(`note: the running engine listens on ${ready.port}, not EMBEDDED_PORT=${port}`);
  }
  socket.unref(); // being a user does not keep the command running
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    if (socket.destroyed) return Promise.resolve();
    socket.ref(); // the host's answer is awaited
    void shared.send(socket, { type: 'release' });
    return new Promise((closed) => socket.once('close', () => closed()));
  };
  return {
    uri: ready.uri,
    engine: ready.engine,
    started: ready.started,
    release: () => {
      released ??= release();
      return released;
    },
    leave: () => {
      released ??= Promise.resolve();
      socket.destroy();
    },
    watchHost: (onGone) => {
      const onClose = () => {
        if (!released) onGone(goneMessage(ready, dataDir));
      };
      socket.once('close', onClose);
      return () => socket.off('close', onClose);
    },
  };
}

function goneMessage({ engine, hostPid }: shared.Ready, dataDir: string): string {
  return `the local ${engine} engine is gone: its host process ${hostPid} exited (last line of ${join(dataDir, shared.ENGINE_LOG)}: ${shared.lastLogLine(dataDir)}); requests get 503 until it is started again (restart the app, or npm run db)`;
}
