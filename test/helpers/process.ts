import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { projectRoot as root } from '../../src/process/project-root.ts';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once the stream's text so far matches; rejects if the process ends first. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  /**
   * Resolves with the first value `find` returns, asking again on every chunk of output; rejects
   * if the process ends without one, or after timeoutMs when given (else the test's timeout).
   */
  until<T>(find: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  /** Once every holder of its output pipes (the process and any child it left) is gone. */
  done: Promise<ProcessResult>;
  /** The process's own exit (children it started may still run). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /**
   * The whole environment, plus PATH, HOME and the run's server settings (serverSettings), so
   * that a developer's other variables cannot leak in.
   */
  env: Record<string, string>;
  /** Default: the repository root. */
  cwd?: string;
  /** Killed (SIGKILL) after this long, so a hung child fails its test instead of hanging it. */
  timeoutMs?: number;
  /** In a process group of its own, as a shell or a container runtime starts a command. */
  detached?: boolean;
  /** Run as this user (the test runner must be root), as a service user runs the command. */
  user?: { uid: number; gid: number };
  /** Piped to stdin, which is then closed (`command < file`); default: no stdin. */
  input?: string;
}

/**
 * The run's MONGODB_* settings but the server and database (MONGODB_RETRY_WRITES=false,
 * MONGODB_ATOMIC_UPDATES, concerns): what the server needs reaches every process a test starts,
 * as it reaches the test's own connections (src/db/replication.ts, mongoSettingsOf).
 */
function serverSettings(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[0].startsWith('MONGODB_') &&
        entry[0] !== 'MONGODB_URI' &&
        entry[0] !== 'MONGODB_DB' &&
        entry[1] !== undefined,
    ),
  );
}

/** Starts a command with only the environment given (and serverSettings); collects its output. */
export function startProcess(
  command: string,
  args: string[],
  { env, cwd = root, timeoutMs, detached = false, user, input }: StartOptions,
): RunningProcess {
  const child = spawn(command, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      ...serverSettings(),
      ...env,
    },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached,
    ...user,
  });
  child.stdin?.end(input);
  const text = { stdout: '', stderr: '' };
  const watchers = new Set<() => boolean>();
  const wake = () => {
    for (const watcher of [...watchers]) watcher();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    text.stdout += chunk.toString();
    wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text.stderr += chunk.toString();
    wake();
  });
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const done = new Promise<ProcessResult>((resolveDone, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveDone({ code, signal, ...text });
    });
  });
  const ended = done.then(
    () => undefined,
    () => undefined,
  );
  function until<T>(find: () => T | undefined, what: string, timeoutMs?: number): Promise<T> {
    return new Promise<T>((resolveFound, reject) => {
      let deadline: NodeJS.Timeout | undefined;
      const finish = (outcome: () => void) => {
        clearTimeout(deadline);
        watchers.delete(check);
        outcome();
      };
      const check = () => {
        const found = find();
        if (found !== undefined) finish(() => resolveFound(found));
        return found !== undefined;
      };
      if (timeoutMs !== undefined) {
        deadline = setTimeout(
          () => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms${tail()}`))),
          timeoutMs,
        );
      }
      watchers.add(check);
      if (check()) return;
      void ended.then(() => {
        if (watchers.has(check) && !check())
          finish(() => reject(new Error(`exited before ${what}${tail()}`)));
      });
    });
  }
  const tail = () => `; stdout: ${text.stdout.slice(-800)}; stderr: ${text.stderr.slice(-800)}`;
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    done,
    exited,
    until,
    waitFor: (pattern, stream = 'stderr', timeoutMs) =>
      until(
        () => (pattern.test(text[stream]) ? true : undefined),
        `${pattern} on ${stream}`,
        timeoutMs,
      ).then(() => undefined),
  };
}

/**
 * Runs a TypeScript file (path from the repository root, or absolute) as the npm scripts do: one
 * node process (Node strips the types itself), with the `preload` modules imported first.
 */
export function startTs(
  file: string,
  args: string[],
  { preload = [], ...options }: StartOptions & { preload?: string[] },
): RunningProcess {
  const imports = preload.flatMap((module) => ['--import', module]);
  return startProcess(process.execPath, [...imports, resolve(root, file), ...args], options);
}

/** startTs, to the end. */
export function runTs(file: string, args: string[], options: StartOptions): Promise<ProcessResult> {
  return startTs(file, args, options).done;
}

/** A command's output without the `<UTC time> ` that starts each of its log lines. */
export function unstamped(text: string): string {
  return text.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /gm, '');
}

/** The pid of this test process's child whose command line holds `text` (Linux `ps`). */
export function childPidWith(text: string): number | undefined {
  const line = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)])
    .toString()
    .split('\n')
    .find((row) => row.includes(text));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}
