import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './pid.ts';
import { ScriptError } from './script-error.ts';

export type LockMechanism = 'flock' | 'socket';

export interface FileLock {
  mechanism: LockMechanism;
  /** What other runs collide on (the lock file for flock, a socket path otherwise). */
  path: string;
  /** Throws the FileLockError `lock-lost` if the lock stopped being ours while held. */
  assertHeld(): void;
  release(): Promise<void>;
}

export interface FileLockOptions {
  /** Names the lock in messages, e.g. "the backup lock". */
  name: string;
  /** The command recorded with the lock beside our pid, so that a second taker can name it. */
  holder?: string;
  /** auto: flock(1) when it runs here, else the socket. */
  mechanism?: 'auto' | LockMechanism;
  flockCommand?: string;
}

export type FileLockErrorCode = 'lock-held' | 'lock-lost' | 'lock-unavailable' | 'lock-failed';

export class FileLockError extends ScriptError {
  declare readonly code: FileLockErrorCode;

  constructor(code: FileLockErrorCode, message: string) {
    super(code, message);
    this.name = 'FileLockError';
  }
}

/** flock(1)'s exit status when the lock is held (-n). */
const CONFLICT_EXIT = 75;

/**
 * One process at a time holds `lockPath` (the backup folder's lock); a second taker fails at once
 * with `lock-held`, naming the holder. The kernel holds it, not a file's contents or age:
 * - flock(1) (util-linux, on every mainstream Linux) takes an flock(2) lock and runs a child that
 *   reads our stdin; when this process ends in any way the pipe closes and both exit, so the
 *   kernel drops the lock the moment its holder dies (kill -9 included): nothing stale is left.
 *   It runs in a process group of its own, so a Ctrl-C meant for us cannot take the lock away
 *   while we clean up; if it dies anyway, `assertHeld()` says so.
 * - Without flock(1) (macOS), a Unix socket bound in the temp folder stands in: the kernel stops
 *   accepting on it when the holder dies, and a later run replaces the dead socket file. Two runs
 *   replacing the same dead socket at that very moment could both proceed; flock has no such
 *   window, which is why it is preferred.
 * Not proper-lockfile: its lock is judged by an mtime the holder refreshes from a timer, so a
 * holder paused past `stale` (SIGSTOP, Ctrl-Z, a blocked event loop) loses it while it still
 * works (docs/backups.md, "Locking", has the trial). With flock a paused holder keeps the lock and
 * a dead one frees it at once.
 */
export async function acquireFileLock(
  lockPath: string,
  options: FileLockOptions,
): Promise<FileLock> {
  const mechanism = options.mechanism ?? 'auto';
  const command = options.holder ?? basename(process.argv[1] ?? process.argv0);
  const record = `pid ${process.pid} (${command}) since ${new Date().toISOString()}`;
  if (mechanism !== 'socket') {
    const lock = await takeFlock(lockPath, options).catch((error) => {
      if (!(error instanceof FileLockError) || error.code !== 'lock-held') throw error;
      throw heldBy(options.name, lockPath, describeFlockHolder(lockPath));
    });
    if (lock !== 'unavailable') {
      recordHolder(lockPath, record);
      return lock;
    }
    if (mechanism === 'flock')
      throw new FileLockError('lock-unavailable', 'flock(1) is not available');
  }
  const socketPath = socketPathFor(lockPath);
  const server = await bindSocket(socketPath, record);
  if (server === 'in-use') {
    const holder = (await probeSocket(socketPath)) ?? 'a process that has just ended';
    throw heldBy(options.name, socketPath, holder);
  }
  server.unref();
  return {
    mechanism: 'socket',
    path: socketPath,
    assertHeld: () => {},
    release: () => new Promise((resolveClose) => server.close(() => resolveClose())),
  };
}

function heldBy(name: string, path: string, holder: string): FileLockError {
  return new FileLockError('lock-held', `${name} (${path}) is held by ${holder}`);
}

function recordHolder(lockPath: string, record: string): void {
  try {
    writeFileSync(lockPath, `${record}\n`);
  } catch {
    // Only for messages: a lock file that cannot be written (a folder) still locks.
  }
}

/** The record the holder wrote, unless it is a dead process's (the new holder has yet to write). */
function describeFlockHolder(lockPath: string): string {
  let record = '';
  try {
    record = readFileSync(lockPath, 'utf8').trim();
  } catch {
    // No record to read: said the same way as an outdated one.
  }
  const pid = /^pid (\d+) /.exec(record)?.[1];
  return pid && processAlive(Number(pid)) ? record : 'another process';
}

/**
 * One flock(1) run, failing at once when the lock is held. Resolves once its child says
 * "locked", with the lock; 'unavailable' when there is no flock(1) here.
 */
function takeFlock(lockPath: string, options: FileLockOptions): Promise<FileLock | 'unavailable'> {
  const child = spawnFlock(options.flockCommand ?? 'flock', lockPath);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // The lock goes with the child: ending its stdin ends it, here or when this process dies.
  const letGo = () => child.stdin?.end();
  return new Promise((resolveLock, reject) => {
    let held: HeldFlock | undefined;
    child.stdout?.once('data', () => {
      held = heldFlock(lockPath, child, letGo);
      resolveLock(held.lock);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') resolveLock('unavailable');
      else reject(new FileLockError('lock-failed', `cannot run flock: ${error.message}`));
    });
    child.once('close', (code, exitSignal) => {
      if (held) held.ended(`${options.name} (${lockPath})`, exitSignal ?? `exit ${code}`);
      else if (code === CONFLICT_EXIT)
        reject(new FileLockError('lock-held', `${lockPath} is held`));
      else {
        const why = stderr.trim() || `exit ${code ?? exitSignal}`;
        reject(new FileLockError('lock-failed', `flock ${lockPath} failed: ${why}`));
      }
    });
  });
}

/**
 * flock(1) in a process group of its own (a terminal's Ctrl-C does not reach it), running a
 * child that says "locked" and then reads our stdin until it closes.
 */
function spawnFlock(command: string, lockPath: string): ChildProcess {
  return spawn(
    command,
    ['-n', '-E', String(CONFLICT_EXIT), lockPath, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
}

interface HeldFlock {
  lock: FileLock;
  /** The flock process ended: a release, or else the lock was lost while held. */
  ended(name: string, how: string): void;
}

function heldFlock(lockPath: string, child: ChildProcess, letGo: () => void): HeldFlock {
  let released = false;
  let lost: string | undefined;
  const closed = new Promise<void>((resolveClosed) => child.once('close', () => resolveClosed()));
  return {
    lock: {
      mechanism: 'flock',
      path: lockPath,
      assertHeld: () => {
        if (lost) throw new FileLockError('lock-lost', lost);
      },
      release: async () => {
        released = true;
        letGo();
        await closed;
      },
    },
    ended: (name, how) => {
      if (!released) lost = `${name} was lost while held: its flock process ended (${how})`;
    },
  };
}

function socketPathFor(lockPath: string): string {
  const folder = realpathSync(dirname(lockPath));
  const digest = createHash('sha256')
    .update(join(folder, basename(lockPath)))
    .digest('hex')
    .slice(0, 16);
  // In the temp folder: socket paths are limited to ~104 bytes, lock paths are not.
  return join(tmpdir(), `microblog-lock-${digest}.sock`);
}

async function bindSocket(socketPath: string, record: string): Promise<Server | 'in-use'> {
  const server = await listen(socketPath, record);
  if (server !== 'in-use') return server;
  if ((await probeSocket(socketPath)) !== undefined) return 'in-use';
  // The holder died and left its socket file (the window described above).
  await rm(socketPath, { force: true });
  return listen(socketPath, record);
}

function listen(path: string, record: string): Promise<Server | 'in-use'> {
  return new Promise((resolveListen, reject) => {
    const server = createServer((socket) => socket.end(`${record}\n`));
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolveListen('in-use');
      else
        reject(
          new FileLockError('lock-failed', `cannot create lock socket ${path}: ${error.message}`),
        );
    });
    server.listen(path, () => resolveListen(server));
  });
}

/** What the live holder of the socket says about itself; undefined when nobody answers. */
function probeSocket(path: string): Promise<string | undefined> {
  return new Promise((resolveProbe) => {
    let text = '';
    let connected = false;
    const socket = createConnection(path);
    // Connected but silent (a holder that is stopped or busy) still counts as alive.
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.once('close', () =>
      resolveProbe(connected ? text.trim() || 'another process' : undefined),
    );
    socket.once('error', () => {});
  });
}
