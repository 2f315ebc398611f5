// What the commands and the engine host (src/db/engine-host.ts) of a data folder share: the
// host's socket, the messages on it, engine.json (which engine runs there, so that a host killed
// with -9 can be cleaned up after) and engine.log (the host's output).
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { EngineKind } from './embedded-engine.ts';

export interface EngineRecord {
  hostPid: number;
  hostStart?: string;
  /** The FerretDB or mongod process, killed by the next host if its own died without stopping it. */
  enginePid?: number;
  engine: EngineKind;
  port: number;
  uri: string;
  dataDir: string;
  startedAt: string;
  startedBy: { pid: number; command: string };
}

export interface Holder {
  pid: number;
  command: string;
  since: string;
}

/** Newline-delimited JSON, both ways: a command says hello, the host answers until 'ready'. */
export type EngineMessage =
  | { type: 'hello'; pid: number; command: string }
  | { type: 'starting' | 'stopping'; by: Holder }
  | { type: 'log' | 'warning' | 'failed'; line: string }
  | {
      type: 'ready';
      uri: string;
      engine: EngineKind;
      port: number;
      hostPid: number;
      started: boolean;
    }
  | { type: 'release' | 'stopped' }
  | { type: 'left'; users: string };

const RECORD = 'engine.json';
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

export function removeRecord(dataDir: string): void {
  rmSync(join(dataDir, RECORD), { force: true });
}

export function lastLogLine(dataDir: string): string {
  try {
    return readFileSync(join(dataDir, ENGINE_LOG), 'utf8').trim().split('\n').at(-1) || 'none';
  } catch {
    return 'none';
  }
}

/** Linux: an abstract socket, which vanishes with its process and only one process can bind. */
export function engineSocketPath(dataDir: string): string {
  if (process.platform !== 'linux') return join(dataDir, 'engine.sock');
  const hash = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 32);
  return `\0microblog-engine-${hash}`;
}

/** Binds the data folder's socket: false when another process holds it. */
export async function bindEngineSocket(server: Server, dataDir: string): Promise<boolean> {
  const path = engineSocketPath(dataDir);
  if (await listen(server, path)) return true;
  if (path.startsWith('\0') || (await answers(path))) return false;
  // A dead host's file. Two hosts doing this at once can both bind: a window flock would close.
  rmSync(path, { force: true });
  return listen(server, path);
}

function listen(server: Server, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    };
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve(true);
    });
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function send(socket: Socket, message: EngineMessage): void {
  if (socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `handle` with each message; returns the function that stops listening. */
export function onMessages(socket: Socket, handle: (message: EngineMessage) => void): () => void {
  let buffer = '';
  const onData = (chunk: Buffer) => {
    const lines = (buffer + chunk.toString()).split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line) handle(JSON.parse(line) as EngineMessage);
  };
  socket.on('data', onData);
  return () => socket.off('data', onData);
}
