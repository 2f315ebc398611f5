import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { processAlive } from '../../src/process/pid.ts';
import { localEngineSetup } from '../helpers/local-engine.ts';
import { startTs } from '../helpers/process.ts';
import { type SpawnedApp, spawnApp } from '../helpers/spawn-app.ts';

type Setup = Awaited<ReturnType<typeof localEngineSetup>>;
const kill = (pid: number, signal: NodeJS.Signals = 'SIGKILL') => {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
};
/** How long writes may fail after the engine is killed under the app (docs/operations.md). */
const RECOVERY_BOUND_MS = 15_000;

/** The app on the data folder's local engine, migrated, with a user who can post. */
async function appWithAuthor(s: Setup) {
  const app = spawnApp({ ...s.env, MIGRATIONS_ON_START: 'apply' });
  const port = await app.listening(180_000);
  const base = `http://127.0.0.1:${port}`;
  const json = (body: object, token?: string) => ({
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const credentials = { username: 'survivor', password: 'correct horse battery' };
  expect(
    (await fetch(`${base}/api/users`, json({ ...credentials, email: 's@example.com' }))).status,
  ).toBe(201);
  const { token } = (await (await fetch(`${base}/api/tokens`, json(credentials))).json()) as {
    token: string;
  };
  let n = 0;
  const post = () => fetch(`${base}/api/posts`, json({ body: `post ${++n}` }, token));
  return { app, post };
}

const engineLog = (s: Setup) => readFileSync(join(s.dataDir, 'engine.log'), 'utf8');

describe('the local engine, killed under a running app', { timeout: 240_000 }, () => {
  let s: Setup;
  let app: SpawnedApp | undefined;
  beforeEach(async () => {
    s = await localEngineSetup('restart');
  });
  afterEach(async () => {
    app?.child.kill('SIGKILL');
    for (const { pid } of s.processes()) kill(pid);
    await s.remove();
  });

  it(`is restarted by its host: writes succeed again within ${RECOVERY_BOUND_MS / 1000} s, with no other command run`, async () => {
    const started = await appWithAuthor(s);
    app = started.app;
    expect((await started.post()).status).toBe(201);
    const before = s.record();
    if (!before?.enginePid) throw new Error('no engine record');

    kill(before.enginePid);
    const killedAt = Date.now();
    const statuses: number[] = [];
    await vi.waitFor(
      async () => {
        const status = (await started.post()).status;
        statuses.push(status);
        expect(status).toBe(201);
      },
      { timeout: RECOVERY_BOUND_MS, interval: 250 },
    );
    const recoveredMs = Date.now() - killedAt;

    console.info(`writes succeeded again ${recoveredMs} ms after the engine was killed`);
    // While it was down, a write was refused as unavailable, never answered with a 500.
    expect(statuses.filter((status) => status !== 201 && status !== 503)).toEqual([]);
    expect(engineLog(s)).toMatch(
      new RegExp(
        `warning: the \\w+ engine \\(pid ${before.enginePid}\\) exited unexpectedly: restarting it in 500 ms \\(try 1 of 5\\)`,
      ),
    );
    // The app may write to the new engine a moment before the host's own check sees it answer.
    await vi.waitFor(
      () =>
        expect(engineLog(s)).toMatch(/ restarted at mongodb:\/\/127\.0\.0\.1:\d+\/ \(pid \d+\)/),
      { timeout: 5_000, interval: 50 },
    );
    const after = s.record();
    expect(after?.hostPid).toBe(before.hostPid);
    expect(after?.enginePid).not.toBe(before.enginePid);
    expect(processAlive(after?.enginePid ?? 0)).toBe(true);
    // Nothing but the app and the engine it uses (its host and the engine process).
    expect(
      s
        .processes()
        .map((p) => p.pid)
        .sort(),
    ).toEqual([app.child.pid, after?.hostPid, after?.enginePid].sort());
  });

  it('that keeps failing to start: the host gives up loudly, the app logs it, the next command warns before starting one', async () => {
    const started = await appWithAuthor(s);
    app = started.app;
    const before = s.record();
    if (!before?.enginePid) throw new Error('no engine record');

    // Another program takes the engine's port the moment it is free: every restart fails.
    kill(before.enginePid);
    const squatter = await takePort(s.port);
    try {
      await vi.waitFor(() => expect(engineLog(s)).toMatch(/giving up/), {
        timeout: 90_000,
        interval: 250,
      });
      expect(engineLog(s).match(/restart failed: /g)).toHaveLength(5);
      await vi.waitFor(() => expect(processAlive(before.hostPid)).toBe(false), { timeout: 20_000 });
      const gone = await app.waitForLog(
        (line) => line.level === 50 && /local \w+ engine is gone/.test(String(line.msg)),
        20_000,
      );
      expect(gone.msg).toMatch(`host process ${before.hostPid} exited`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }

    const status = await startTs('scripts/migrate.ts', ['status'], {
      env: { ...s.env, LOG_LEVEL: 'silent' },
    }).done;

    expect(status.code, status.stderr).toBe(0);
    const lines = status.stderr.split('\n');
    const warned = lines.findIndex((l) =>
      /warning: the \w+ engine recorded in .*engine\.json is dead \(host pid \d+/.test(l),
    );
    const startedAgain = lines.findIndex((l) => /started the \w+ engine/.test(l));
    expect(warned).toBeGreaterThanOrEqual(0);
    expect(startedAgain).toBeGreaterThan(warned);
    expect(lines[warned]).toContain('giving up');
  });
});

/** Listens on `port` as soon as the killed engine has let go of it (bounded retries). */
async function takePort(port: number): Promise<Server> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const server = createServer((socket) => socket.destroy());
    const taken = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (taken) return server;
    await sleep(5);
  }
  throw new Error(`port ${port} stayed busy`);
}
