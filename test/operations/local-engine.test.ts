import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canConnect } from '../../src/db/embedded-engine.ts';
import { processAlive } from '../../src/process/pid.ts';
import { localEngineSetup } from '../helpers/local-engine.ts';
import { startProcess, startTs } from '../helpers/process.ts';
import { spawnApp } from '../helpers/spawn-app.ts';
import { ALL_MIGRATIONS } from '../migrations/helpers.ts';

type Setup = Awaited<ReturnType<typeof localEngineSetup>>;
const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
};
const node = (script: string, args: string[], env: Record<string, string>) =>
  startTs(script, args, { env: { LOG_LEVEL: 'silent', ...env } });
const readyLines = (s: Setup) =>
  readFileSync(join(s.dataDir, 'engine.log'), 'utf8').match(/ ready at /g) ?? [];
const gone = (s: Setup) =>
  vi.waitFor(
    () => {
      expect(s.processes()).toEqual([]);
      expect(s.record()).toBeUndefined();
    },
    { timeout: 20_000, interval: 200 },
  );

describe('one local engine per data folder, shared by every command', { timeout: 180_000 }, () => {
  let s: Setup;
  beforeEach(async () => {
    s = await localEngineSetup('shared');
  });
  afterEach(async () => {
    for (const { pid } of s.processes()) kill(pid);
    await s.remove();
  });

  it('two `npm run db` started together share one engine; the last to stop stops it', async () => {
    const a = node('scripts/db.ts', [], s.env);
    const b = node('scripts/db.ts', [], s.env);
    await Promise.all([
      a.waitFor(/Ctrl-C to stop/, 'stdout'),
      b.waitFor(/Ctrl-C to stop/, 'stdout'),
    ]);

    const record = s.record();
    expect(record?.port).toBe(s.port);
    expect(readyLines(s)).toHaveLength(1);
    const engines = s.processes().filter((p) => /ferretdb|mongod/.test(p.command));
    const hosts = s.processes().filter((p) => p.command.includes('engine-host'));
    expect(engines.map((p) => p.pid)).toEqual([record?.enginePid]);
    expect(hosts.map((p) => p.pid)).toEqual([record?.hostPid]);

    a.child.kill('SIGINT');
    const first = await a.done;
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`still used by pid ${b.child.pid} (db)`);
    expect(await canConnect(s.port)).toBe(true);

    b.child.kill('SIGINT');
    const last = await b.done;
    expect(last.code).toBe(0);
    expect(last.stderr).toMatch(/database engine stopped/);
    await gone(s);
  });

  it('the migrate commands and plain migrate-mongo, run while the app runs, use the app’s engine', async () => {
    const env = { ...s.env, BACKUP_DIR: join(s.dataDir, 'backups') };
    const app = spawnApp(env);
    const port = await app.listening(120_000);
    const hostPid = s.record()?.hostPid;

    const up = await node('scripts/migrate.ts', ['up'], env).done;
    const plain = await startProcess('npx', ['--no-install', 'migrate-mongo', 'status'], { env })
      .done;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);

    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(
      new RegExp(`using the \\w+ engine already running at mongodb://127\\.0\\.0\\.1:${s.port}/`),
    );
    expect(up.stderr).toContain(`still used by pid ${app.child.pid} (node src/main.ts)`);
    expect(up.stdout).toContain(`applied ${ALL_MIGRATIONS.length} migrations`);
    expect(plain.code, plain.stderr).toBe(0);
    // The plain CLI's status is the runner's (migrate-mongo-config.js hands it over): applied when, file.
    expect(plain.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ +\d{14}-add-post-tags\.js$/m);
    // The app sees what the command did: it is the same database on the same engine.
    expect(ready.status).toBe(200);
    expect(s.record()?.hostPid).toBe(hostPid);
    expect(readyLines(s)).toHaveLength(1);

    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
    expect(app.logs.map((l) => l.msg)).toContain('database engine stopped');
    await gone(s);
  });

  it('a user killed with kill -9: the engine host notices and stops the engine by itself', async () => {
    const app = spawnApp(s.env);
    await app.listening(120_000);
    const record = s.record();

    app.child.kill('SIGKILL');
    await app.exited;

    await gone(s);
    expect(processAlive(record?.enginePid ?? 0)).toBe(false);
  });

  it('a port another program holds: the command fails with the host’s reason and leaves nothing', async () => {
    const squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(s.port, '127.0.0.1', resolve));
    try {
      const status = await node('scripts/migrate.ts', ['status'], s.env).done;

      expect(status.code).not.toBe(0);
      expect(status.stderr).toMatch(
        new RegExp(`the local engine did not start: .*port ${s.port} .* already in use`),
      );
      await gone(s);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('a stale record after kill -9 of the engine host: the next command warns, stops the orphaned engine and starts one', async () => {
    const holder = node('scripts/db.ts', [], s.env);
    await holder.waitFor(/Ctrl-C to stop/, 'stdout');
    const stale = s.record();
    if (!stale) throw new Error('no engine record');
    process.kill(stale.hostPid, 'SIGKILL');
    holder.child.kill('SIGKILL');
    await holder.done;
    await vi.waitFor(() => expect(processAlive(stale.hostPid)).toBe(false));

    const status = await node('scripts/migrate.ts', ['status'], s.env).done;

    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toMatch(
      new RegExp(
        `migrate: warning: the \\w+ engine recorded in .*engine\\.json is dead \\(host pid ${stale.hostPid}, .*\\): starting a new one\n`,
      ),
    );
    expect(status.stderr).toMatch(/started the \w+ engine/);
    expect(status.stdout).toMatch(/pending\s+20240105090000-create-users\.js/);
    expect(processAlive(stale.enginePid ?? 0)).toBe(false);
    await gone(s);
  });
});
