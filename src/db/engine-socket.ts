// What the commands and the engine host (src/db/engine-host.ts) of a data folder share: the
// host's socket and its messages, engine.json (the running engine, so that the next host can
// clean up after one killed with -9) and engine.log (the host's output). A mechanism of our own
// because a Unix socket is already the lock (one binder) and the user count (connections the
// kernel closes when their process dies): nothing is left to poll.
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineKind } from './embedded-engine.ts';

export interface EngineRecord {
  hostPid: number;
  /** The FerretDB or mongod process, killed by the next host if its own died without it. */
  enginePid?: number;
  engine: EngineKind;
  port: number;
  uri: string;
  dataDir: string;
  startedAt: string;
  startedBy: { pid: number; command: string };
}

export type Holder = { pid: number; command: string; since: string };
export type Ready = {
  uri: string;
  engine: EngineKind;
  port: number;
  hostPid: number;
  /** The command this hello came from started the engine. */
  started: boolean;
};
export type HostSpec = { kind: EngineKind; dataDir: string; port: number; starter: Holder };

/** Newline-delimited JSON: a command's hello, the host's answers up to 'ready', its release. */
export type EngineMessage =
  | { type: 'hello'; pid: number; command: string }
  | { type: 'starting' | 'stopping'; by: Holder }
  | { type: 'warning'; line: string }
  | ({ type: 'ready' } & Ready)
  | { type: 'release' | 'stopped' }
  | { type: 'left'; users: string };

export const ENGINE_LOG = 'engine.log';

export function readRecord(dataDir: string): EngineRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'engine.json'), 'utf8')) as EngineRecord;
  } catch {
    return undefined;
  }
}

/** Written under a temporary name and renamed: a reader never sees half a record. */
export function writeRecord(record: EngineRecord): void {
  const partial = join(record.dataDir, `engine.json.${process.pid}.partial`);
  writeFileSync(partial, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(partial, join(record.dataDir, 'engine.json'));
}

export function lastLogLine(dataDir: string): string {
  try {
    return readFileSync(join(dataDir, ENGINE_LOG), 'utf8').trim().split('\n').at(-1) || 'none';
  } catch {
    return 'none';
  }
}

/** Linux: an abstract socket, which vanishes with its process and only one process can bind. */
function engineSocketPath(dataDir: string): string {
  if (process.platform !== 'linux') return join(dataDir, 'engine.sock');
  const hash = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 32);
  return `\0microblog-engine-${hash}`;
}

/** The host listening on the data folder's socket, if any. */
export function connectHost(dataDir: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(engineSocketPath(dataDir), () => resolve(socket));
    socket.on('error', () => resolve(undefined));
  });
}

/** Binds the data folder's socket: false when another host holds it. */
export async function bindEngineSocket(server: Server, dataDir: string): Promise<boolean> {
  const path = engineSocketPath(dataDir);
  if (await listen(server, path)) return true;
  if (path.startsWith('\0')) return false;
  const live = await connectHost(dataDir);
  live?.destroy();
  if (live) return false;
  // A dead host's file. Two hosts doing this at once can both bind: a window flock would close.
  rmSync(path, { force: true });
  return listen(server, path);
}

function listen(server: Server, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    });
    server.listen(path, () => resolve(true));
  });
}

export function send(socket: Socket, message: EngineMessage): Promise<void> {
  if (!socket.writable) return Promise.resolve();
  return new Promise((done) => socket.write(`${JSON.stringify(message)}\n`, () => done()));
}

/** A connection reset (the peer killed) is seen by the socket's 'close': not an error here. */
export function onMessages(socket: Socket, handle: (message: EngineMessage) => void): void {
  const lines = createInterface({ input: socket }).on('error', () => {});
  lines.on('line', (line) => {
    let message: EngineMessage;
    try {
      message = JSON.parse(line);
    } catch {
      return void socket.destroy(); // not one of ours: a program writing garbage is hung up on
    }
    handle(message);
  });
}
