import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupError } from './errors.ts';

export type LockMechanism = 'flock' | 'socket';

export interface HeldLock {
  mechanism: LockMechanism;
  /** What other runs collide on (a file for flock, a socket path otherwise). */
  path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** auto: flock(1) when it runs here, else the socket. */
  mechanism?: 'auto' | LockMechanism;
  flockCommand?: string;
}

export const LOCK_FILE = '.backup.lock';

/**
 * One backup at a time per backup folder, with a lock the kernel drops when the holder dies, so
 * a crashed or killed run never blocks the next one the way a stale PID file does.
 * flock(1) (util-linux, on every mainstream Linux) holds an flock(2) lock for as long as its
 * child reads our stdin; when this process ends for any reason the pipe closes and both exit.
 * Without flock (macOS), a Unix socket bound in the temp folder stands in: the kernel stops
 * accepting on it when the holder dies, and a later run replaces the dead socket file.
 */
export async function acquireLock(dir: string, options: LockOptions = {}): Promise<HeldLock> {
  const mechanism = options.mechanism ?? 'auto';
  if (mechanism === 'socket') return acquireSocketLock(dir);
  const flock = await acquireFlock(join(dir, LOCK_FILE), options.flockCommand ?? 'flock');
  if (flock !== 'unavailable') return flock;
  if (mechanism === 'flock') throw new BackupError('internal', 'flock(1) is not available');
  return acquireSocketLock(dir);
}

function held(path: string): BackupError {
  return new BackupError('lock-held', `another backup run holds the lock ${path}`);
}

function acquireFlock(lockPath: string, command: string): Promise<HeldLock | 'unavailable'> {
  // -n: fail at once instead of queueing behind the running backup.
  const child: ChildProcess = spawn(
    command,
    ['-n', lockPath, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolveLock, reject) => {
    let acquired = false;
    const closed = new Promise<void>((resolveClosed) => child.once('close', () => resolveClosed()));
    child.stdout?.once('data', () => {
      acquired = true;
      resolveLock({
        mechanism: 'flock',
        path: lockPath,
        release: async () => {
          child.stdin?.end();
          await closed;
        },
      });
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') resolveLock('unavailable');
      else reject(new BackupError('internal', `cannot run flock: ${error.message}`));
    });
    child.once('close', (code) => {
      if (acquired) return;
      // flock -n exits 1 without a word when another process holds the lock.
      if (code === 1 && stderr.trim() === '') reject(held(lockPath));
      else
        reject(
          new BackupError(
            'io-error',
            `flock ${lockPath} failed: ${stderr.trim() || `exit ${code}`}`,
          ),
        );
    });
  });
}

async function acquireSocketLock(dir: string): Promise<HeldLock> {
  const digest = createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 16);
  // In the temp folder: socket paths are limited to ~104 bytes, backup folders are not.
  const socketPath = join(tmpdir(), `microblog-backup-${digest}.sock`);
  let server = await listen(socketPath);
  if (server === 'in-use') {
    if (await isAlive(socketPath)) throw held(socketPath);
    // The holder died and left its socket file. Two runs racing through this very moment can
    // both get here; flock has no such window, which is why it is preferred.
    await rm(socketPath, { force: true });
    server = await listen(socketPath);
    if (server === 'in-use') throw held(socketPath);
  }
  const bound = server;
  bound.unref();
  return {
    mechanism: 'socket',
    path: socketPath,
    release: () => new Promise((resolveClose) => bound.close(() => resolveClose())),
  };
}

function listen(path: string): Promise<Server | 'in-use'> {
  return new Promise((resolveListen, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolveListen('in-use');
      else
        reject(new BackupError('io-error', `cannot create lock socket ${path}: ${error.message}`));
    });
    server.listen(path, () => resolveListen(server));
  });
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once('error', () => resolveProbe(false));
  });
}
