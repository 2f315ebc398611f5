import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/process/project-root.ts';

const root = projectRoot;

export interface SpawnedApp {
  child: ChildProcess;
  /** Parsed JSON log lines so far (stdout). */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  stdout: () => string;
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the port from the "listening on" line. */
  listening(timeoutMs?: number): Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `src/main.ts` as `npm start` does (tsx), but as one node process (`node --import tsx`),
 * so that a signal reaches the app itself and the exit code is the app's own.
 */
export function spawnApp(env: Record<string, string>, preload: string[] = []): SpawnedApp {
  const imports = ['tsx', ...preload].flatMap((module) => ['--import', module]);
  const child = spawn(process.execPath, [...imports, join(root, 'src/main.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // Test databases start empty, with every migration pending; the app may start anyway.
      MIGRATIONS_ON_START: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      done({ code, signal });
    });
  });

  function waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) {
    return new Promise<Record<string, unknown>>((resolveLine, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) {
          cleanup();
          resolveLine(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup();
          reject(
            new Error(
              `the app exited before the log line; stderr: ${err}; logs: ${JSON.stringify(logs.slice(-5))}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no such log line within ${timeoutMs} ms; logs: ${JSON.stringify(logs.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  return {
    child,
    logs,
    stderr: () => err,
    stdout: () => logs.map((l) => JSON.stringify(l)).join('\n') + out,
    waitForLog,
    async listening(timeoutMs) {
      const line = await waitForLog((l) => /^listening on /.test(String(l.msg)), timeoutMs);
      return Number(/:(\d+)$/.exec(String(line.msg))?.[1]);
    },
    exited,
  };
}
