import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireFileLock, FileLockError } from '../process/file-lock.ts';
import { processAlive, processStartTime } from '../process/pid.ts';
import type { EngineKind } from './embedded-engine.ts';
import { EngineUnavailableError } from './embedded-engine.ts';

/**
 * The files in the data folder through which the commands share one engine:
 *   engine.json     which engine runs there (its host process, port, kind), written when it is up
 *   engine.lock     the flock(2) lock held while a command reads or changes the record
 *   engine-users/   one file per process using the engine (<pid>.json), its reference count
 *   engine.log      the engine host's own output
 * Pids are stored with their start time, so a dead or reused pid is told from a live user.
 */
export interface EngineRecord {
  hostPid: number;
  hostStart?: string;
  /** The FerretDB or mongod process, killed if its host died without stopping it. */
  enginePid?: number;
  engine: EngineKind;
  port: number;
  uri: string;
  dataDir: string;
  startedAt: string;
  startedBy: { pid: number; command: string };
}

export interface EngineUser {
  pid: number;
  start?: string;
  command: string;
  since: string;
}

const RECORD = 'engine.json';
const USERS = 'engine-users';
export const ENGINE_LOG = 'engine.log';

export function readRecord(dataDir: string): EngineRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, RECORD), 'utf8')) as EngineRecord;
  } catch {
    return undefined;
  }
}

/** Written under a temporary name and renamed: a reader never sees half a record. */
export function writeRecord(dataDir: string, record: EngineRecord): void {
  const partial = join(dataDir, `${RECORD}.${process.pid}.partial`);
  writeFileSync(partial, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(partial, join(dataDir, RECORD));
}

/** Removes the record if it is still the one of host `hostPid`. */
export function removeRecord(dataDir: string, hostPid: number): void {
  if (readRecord(dataDir)?.hostPid === hostPid) rmSync(join(dataDir, RECORD), { force: true });
}

export function addUser(dataDir: string, command: string, pid = process.pid): void {
  mkdirSync(join(dataDir, USERS), { recursive: true });
  const user: EngineUser = {
    pid,
    start: processStartTime(pid),
    command,
    since: new Date().toISOString(),
  };
  writeFileSync(join(dataDir, USERS, `${pid}.json`), JSON.stringify(user));
}

export function removeUser(dataDir: string, pid = process.pid): void {
  rmSync(join(dataDir, USERS, `${pid}.json`), { force: true });
}

/** The processes still using the engine; files of dead ones (kill -9, a crash) are removed. */
export function liveUsers(dataDir: string): EngineUser[] {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, USERS));
  } catch {
    return [];
  }
  const live: EngineUser[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const path = join(dataDir, USERS, name);
    let user: EngineUser | undefined;
    try {
      user = JSON.parse(readFileSync(path, 'utf8')) as EngineUser;
    } catch {
      // Half-written by a process that is writing it now, or garbage: judged by its name.
      const pid = Number.parseInt(name, 10);
      if (processAlive(pid)) continue;
    }
    if (user && processAlive(user.pid, user.start)) live.push(user);
    else rmSync(path, { force: true });
  }
  return live;
}

export function describeUsers(users: EngineUser[]): string {
  return users.map((u) => `pid ${u.pid} (${u.command})`).join(', ');
}

export type Unlock = () => Promise<void>;

/** How long a command waits for another that holds the data folder (it may be building the engine). */
const LOCK_WAIT_MS = 15 * 60_000;

/**
 * Takes the data folder's lock (src/process/file-lock.ts: the kernel drops it when its holder
 * dies), waiting up to 15 min while another command holds it (it may be building the offline
 * engine: minutes), and saying whom it waits for. Without `wait`, undefined when it is held.
 */
export async function lockDataDir(
  dataDir: string,
  options: { wait: boolean; log?: (line: string) => void; signal?: AbortSignal },
): Promise<Unlock | undefined> {
  try {
    const lock = await acquireFileLock(join(dataDir, 'engine.lock'), {
      name: 'the engine lock',
      waitMs: options.wait ? LOCK_WAIT_MS : 0,
      onWait: (holder) =>
        options.log?.(
          `waiting for another command that is starting or stopping the engine: ${holder}`,
        ),
      onLost: (message) => options.log?.(`warning: ${message}`),
      signal: options.signal,
    });
    return () => lock.release();
  } catch (error) {
    if (!(error instanceof FileLockError)) throw error;
    if (error.code === 'lock-held' && !options.wait) return undefined;
    throw new EngineUnavailableError(error.message);
  }
}
