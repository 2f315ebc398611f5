import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../process/pid.ts';
import { projectRoot } from '../process/project-root.ts';
import { type EngineKind, EngineUnavailableError, resolveEngineKind } from './embedded-engine.ts';
import {
  addUser,
  describeUsers,
  ENGINE_LOG,
  type EngineRecord,
  liveUsers,
  lockDataDir,
  readRecord,
  removeRecord,
  removeUser,
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
  /**
   * Synchronous, for an exit handler: stops counting as a user and leaves the stopping to the
   * engine host, which stops an engine nobody uses within about two seconds.
   */
  leave(): void;
  /**
   * Calls `onGone` once, with the reason, if the engine's host process exits while this process
   * still uses it (it gave up restarting a dying engine, or was killed). Returns a stop function.
   */
  watchHost(onGone: (message: string) => void): () => void;
}

const HOST_SCRIPT = join(projectRoot, 'src/db/engine-host.ts');

/**
 * The engine of a data folder, shared by every command: connects to the one running there, or
 * starts it in a host process of its own (detached, so it outlives the command that started it
 * while others still use it). Each user is counted by a file named after its pid; the last one
 * to release stops the engine, and the host stops it by itself once every user is dead.
 */
export async function useLocalEngine(options: LocalEngineOptions): Promise<LocalEngine> {
  const { dataDir, log } = options;
  const warn = options.warn ?? ((line: string) => log(`warning: ${line}`));
  mkdirSync(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir, { wait: true, log, signal: options.signal });
  if (!unlock) throw new EngineUnavailableError('could not take the engine lock');
  try {
    let record = readRecord(dataDir);
    if (record && !(await recordAnswers(record))) {
      warn(
        `the ${record.engine} engine recorded in ${join(dataDir, 'engine.json')} is dead (host pid ${record.hostPid}, started ${record.startedAt} by pid ${record.startedBy.pid} (${record.startedBy.command}), not answering on port ${record.port}; last line of ${join(dataDir, ENGINE_LOG)}: ${lastLine(join(dataDir, ENGINE_LOG)) || 'none'}): starting a new one`,
      );
      await cleanUpAfter(record);
      record = undefined;
    }
    // Counted before a host starts: the host stops itself when it sees no live user.
    addUser(dataDir, options.command);
    const started = !record;
    try {
      record ??= await startHost(options);
    } catch (error) {
      removeUser(dataDir);
      throw error;
    }
    if (started) log(`started the ${record.engine} engine at ${record.uri} (data in ${dataDir})`);
    else log(`using the ${record.engine} engine already running at ${record.uri}`);
    if (record.port !== options.port) {
      log(`note: the running engine listens on ${record.port}, not EMBEDDED_PORT=${options.port}`);
    }
    let released: Promise<void> | undefined;
    const running = record;
    return {
      uri: record.uri,
      engine: record.engine,
      started,
      release: () => {
        released ??= releaseEngine(dataDir, log);
        return released;
      },
      leave: () => removeUser(dataDir),
      watchHost: (onGone) => watchHost(dataDir, running, onGone),
    };
  } finally {
    await unlock();
  }
}

function watchHost(
  dataDir: string,
  record: EngineRecord,
  onGone: (message: string) => void,
): () => void {
  const timer = setInterval(() => {
    if (processAlive(record.hostPid, record.hostStart)) return;
    clearInterval(timer);
    const logPath = join(dataDir, ENGINE_LOG);
    onGone(
      `the local ${record.engine} engine is gone: its host process ${record.hostPid} exited (last line of ${logPath}: ${lastLine(logPath) || 'none'}); requests get 503 until it is started again (restart the app, or npm run db)`,
    );
  }, 2000);
  timer.unref();
  return () => clearInterval(timer);
}

async function releaseEngine(dataDir: string, log: (line: string) => void): Promise<void> {
  const unlock = await lockDataDir(dataDir, { wait: true, log });
  try {
    removeUser(dataDir);
    const others = liveUsers(dataDir);
    if (others.length > 0) {
      log(`database engine left running: still used by ${describeUsers(others)}`);
      return;
    }
    const record = readRecord(dataDir);
    if (!record) return;
    await cleanUpAfter(record, 20_000);
    log('database engine stopped');
  } finally {
    await unlock?.();
  }
}

async function recordAnswers(record: EngineRecord): Promise<boolean> {
  return processAlive(record.hostPid, record.hostStart) && (await canConnect(record.port));
}

/**
 * Stops a host (it stops its engine) and, should the host have died without doing so (kill -9),
 * the engine process: nothing of it may keep the port or the files.
 */
async function cleanUpAfter(record: EngineRecord, graceMs = 10_000): Promise<void> {
  await stopProcess(record.hostPid, record.hostStart, graceMs);
  if (record.enginePid && commandLineOf(record.enginePid).includes(record.engine)) {
    await stopProcess(record.enginePid, undefined, 10_000);
  }
  removeRecord(record.dataDir, record.hostPid);
}

async function startHost(options: LocalEngineOptions): Promise<EngineRecord> {
  const kind = await resolveEngineKind(options.engine, options.log);
  const logPath = join(options.dataDir, ENGINE_LOG);
  const out = openSync(logPath, 'a');
  const spec = { kind, dataDir: options.dataDir, port: options.port, command: options.command };
  const child = spawn(process.execPath, [HOST_SCRIPT], {
    cwd: projectRoot,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, LOCAL_ENGINE_SPEC: JSON.stringify({ ...spec, startedBy: process.pid }) },
  });
  closeSync(out);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const record = readRecord(options.dataDir);
    if (record && record.hostPid === child.pid) return record;
    if (exited !== undefined) {
      throw new EngineUnavailableError(
        `the ${kind} engine did not start (exit ${exited}): ${lastLine(logPath)} (see ${logPath})`,
      );
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new EngineUnavailableError(
    `the ${kind} engine did not start within 180 s (see ${logPath})`,
  );
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function stopProcess(pid: number, start: string | undefined, graceMs: number) {
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone in the meantime.
    }
  };
  if (!processAlive(pid, start)) return;
  send('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(pid, start)) {
    if (Date.now() > deadline) send('SIGKILL');
    await sleep(100);
  }
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function lastLine(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return lines.at(-1) ?? '';
  } catch {
    return '';
  }
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = new Socket();
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolveConnect(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
    socket.connect(port, '127.0.0.1');
  });
}
