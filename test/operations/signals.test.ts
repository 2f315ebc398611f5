import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { processAlive } from '../../src/process/pid.ts';
import { freePort, localEngineSetup } from '../helpers/local-engine.ts';
import { startProcess } from '../helpers/process.ts';
import { spawnApp } from '../helpers/spawn-app.ts';

type Setup = Awaited<ReturnType<typeof localEngineSetup>>;
const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
};

/**
 * `npm start` as an operator runs it, in a process group of its own (as a shell or a container
 * runtime starts it), with the local engine. Resolves the app's pid from its "listening" line.
 */
function npmStart(s: Setup) {
  const run = startProcess('npm', ['start'], {
    detached: true,
    env: { PORT: '0', MIGRATIONS_ON_START: 'warn', ...s.env },
  });
  const appPid = run.until(
    () => {
      const line = run
        .stdout()
        .split('\n')
        .find((l) => l.includes('"msg":"listening on'));
      return line ? (JSON.parse(line).pid as number) : undefined;
    },
    'listening line',
    120_000,
  );
  // done: every holder of the pipe (npm, and the app, which inherited it) is gone.
  const closed = run.done.then((result) => result.stdout);
  return { child: run.child, appPid, npmExit: run.exited, closed };
}

/** The parent pid of a process (field 4 of /proc/<pid>/stat). */
const parentOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

const nothingLeft = (s: Setup) =>
  vi.waitFor(
    () => {
      expect(s.processes()).toEqual([]);
      expect(s.record()).toBeUndefined();
    },
    { timeout: 20_000, interval: 200 },
  );

const shutDownCleanly = (log: string) => {
  const messages = log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l).msg);
  expect(messages).toEqual(
    expect.arrayContaining([
      'http server closed',
      'database connection closed',
      'database engine stopped',
      'shutdown complete',
    ]),
  );
};

describe('stopping the app with signals leaves no process behind', { timeout: 180_000 }, () => {
  let s: Setup;
  beforeEach(async () => {
    s = await localEngineSetup('signals');
  });
  afterEach(async () => {
    for (const { pid } of s.processes()) kill(pid);
    await s.remove();
  });

  it('SIGTERM to the `npm start` process: npm exits at once, the app notices and shuts down gracefully', async () => {
    const run = npmStart(s);
    const appPid = await run.appPid;

    run.child.kill('SIGTERM');

    // npm 11 ends at once (143, or killed by the signal) without signalling its script; the app
    // sees its parent go.
    const npm = await run.npmExit;
    expect(npm.code === 143 || npm.signal === 'SIGTERM').toBe(true);
    const log = await run.closed;
    expect(log).toMatch(/npm \(parent process \d+\) exited: shutting down/);
    shutDownCleanly(log);
    await vi.waitFor(() => expect(processAlive(appPid)).toBe(false));
    await nothingLeft(s);
  });

  it('SIGTERM to the process group of `npm start`: the app shuts down gracefully', async () => {
    const run = npmStart(s);
    await run.appPid;

    process.kill(-(run.child.pid ?? 0), 'SIGTERM');

    const log = await run.closed;
    // The signal ends npm too, and the app's parent watch may begin the shutdown a moment before
    // the app handles its own SIGTERM: then that SIGTERM joins it (it once exited at once, 1 run
    // in a full suite). Either way the shutdown is the graceful one, and never "exiting now".
    expect(log).toMatch(
      /"msg":"SIGTERM: shutting down"|"msg":"SIGTERM: already shutting down \(a second signal exits at once\)"/,
    );
    expect(log).not.toMatch(/exiting now/);
    shutDownCleanly(log);
    await nothingLeft(s);
  });

  it('a launcher that starts the app in the background and exits leaves it serving', async () => {
    const port = await freePort();
    const log = join(s.dataDir, 'app.log');
    // What an operator's start script does: nohup the app, wait until it answers, exit.
    const launcher = startProcess(
      'sh',
      [
        '-c',
        `nohup "${process.execPath}" src/main.ts > '${log}' 2>&1 & echo "$!"
         i=0; until grep -q '"msg":"listening on' '${log}' 2>/dev/null; do
           i=$((i + 1)); [ "$i" -gt 1200 ] && exit 1; sleep 0.1
         done`,
      ],
      { env: { ...s.env, PORT: String(port), MIGRATIONS_ON_START: 'warn' } },
    );
    const appPid = Number((await launcher.done).stdout.trim());
    expect((await launcher.exited).code).toBe(0);
    // Re-parented (to init or a subreaper) once the launcher is gone.
    await vi.waitFor(() => expect(parentOf(appPid)).not.toBe(launcher.child.pid), {
      timeout: 10_000,
    });

    // The parent check runs every 250 ms: 3 s of answers are a dozen checks that did not fire.
    const started = Date.now();
    while (Date.now() - started < 3000) {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await sleep(100);
    }
    expect(processAlive(appPid)).toBe(true);
    const lines = readFileSync(log, 'utf8');
    expect(lines).not.toMatch(/exited: shutting down/);
    expect(s.record()?.startedBy).toEqual({ pid: appPid, command: 'node src/main.ts' });

    process.kill(appPid, 'SIGTERM');
    await nothingLeft(s);
    shutDownCleanly(readFileSync(log, 'utf8'));
  });

  it('SIGINT to the app itself: exits 0 and stops the engine it started', async () => {
    const app = spawnApp(s.env);
    await app.listening(120_000);

    app.child.kill('SIGINT');

    expect((await app.exited).code).toBe(0);
    shutDownCleanly(app.stdout());
    await nothingLeft(s);
  });
});
