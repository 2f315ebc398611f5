import type { ChildProcess } from 'node:child_process';
import { type RunningProcess, startTs } from './process.ts';

export interface SpawnedApp {
  child: ChildProcess;
  process: RunningProcess;
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
 * Runs `src/main.ts` as `npm start` does, as one node process (`node src/main.ts`), so that a
 * signal reaches the app itself and the exit code is the app's own.
 */
export function spawnApp(env: Record<string, string>, preload: string[] = []): SpawnedApp {
  const run = startTs('src/main.ts', [], {
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // Test databases start empty, with every migration pending; the app may start anyway.
      MIGRATIONS_ON_START: 'warn',
      // A busy CI machine delays any process's timers: no shedding on event-loop lag here
      // (test/http/load-shedding.test.ts is about it).
      MAX_EVENT_LOOP_LAG_MS: '0',
      ...env,
    },
    preload,
  });
  const logs: Array<Record<string, unknown>> = [];
  let parsed = 0;
  /** Parses the complete stdout lines not parsed yet (a partial last line waits for its end). */
  const readLogs = () => {
    const lines = run.stdout().split('\n');
    lines.pop();
    for (const line of lines.slice(parsed)) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
    parsed = lines.length;
    return logs;
  };
  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    run.until(() => readLogs().find(match), 'such log line', timeoutMs);
  return {
    child: run.child,
    process: run,
    get logs() {
      return readLogs();
    },
    stderr: run.stderr,
    stdout: run.stdout,
    waitForLog,
    async listening(timeoutMs) {
      const line = await waitForLog((l) => /^listening on /.test(String(l.msg)), timeoutMs);
      return Number(/:(\d+)$/.exec(String(line.msg))?.[1]);
    },
    exited: run.done.then(({ code, signal }) => ({ code, signal })),
  };
}
