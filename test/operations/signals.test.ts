import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { processAlive } from '../../src/process/pid.ts';
import { localEngineSetup } from '../helpers/local-engine.ts';
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
    expect(log).toMatch(/parent process \d+ exited: shutting down/);
    shutDownCleanly(log);
    await vi.waitFor(() => expect(processAlive(appPid)).toBe(false));
    await nothingLeft(s);
  });

  it('SIGTERM to the process group of `npm start`: the app shuts down gracefully', async () => {
    const run = npmStart(s);
    await run.appPid;

    process.kill(-(run.child.pid ?? 0), 'SIGTERM');

    const log = await run.closed;
    expect(log).toMatch(/"msg":"SIGTERM: shutting down"/);
    shutDownCleanly(log);
    await nothingLeft(s);
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
