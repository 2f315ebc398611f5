import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedEngine } from '../../src/db/embedded-engine.ts';
import { dropTestDatabase, openTestDatabase, testDbName } from '../helpers/db.ts';
import { freePort } from '../helpers/local-engine.ts';
import { spawnApp } from '../helpers/spawn-app.ts';

const databases: string[] = [];
function testDb(): string {
  const name = testDbName('process');
  databases.push(name);
  return name;
}
afterAll(async () => {
  for (const dbName of databases) {
    await dropTestDatabase(await openTestDatabase('process', { dbName }));
  }
});

/** Starts a POST whose body arrives only when `finish` is called: a request held in flight. */
function heldRequest(port: number, path: string, body: object) {
  const payload = Buffer.from(JSON.stringify(body));
  let held: ReturnType<typeof request> | undefined;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.write(payload.subarray(0, 10));
    held = req;
  });
  return { response, finish: () => held?.end(payload.subarray(10)) };
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('graceful shutdown', () => {
  it('on SIGTERM, stops accepting connections, finishes requests in flight, closes the database and exits 0', async () => {
    const dbName = testDb();
    // The app refuses writes while migrations are pending (503 migrations-pending): this one
    // applies them at start, as a development start does, so the held registration is a write.
    const app = spawnApp({
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: dbName,
      MIGRATIONS_ON_START: 'apply',
    });
    const port = await app.listening(60_000);
    const held = heldRequest(port, '/api/users', {
      username: 'in_flight',
      email: 'in_flight@example.com',
      password: 'long enough password',
    });
    await settle(300);

    app.child.kill('SIGTERM');
    await app.waitForLog((l) => l.msg === 'SIGTERM: shutting down');
    expect(await connects(port)).toBe(false);
    held.finish();
    const res = await held.response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).username).toBe('in_flight');

    expect((await app.exited).code).toBe(0);
    const closed = app.logs.map((l) => l.msg);
    expect(closed).toEqual(
      expect.arrayContaining([
        'http server closed',
        'database connection closed',
        'shutdown complete',
      ]),
    );
    const db = await openTestDatabase('process', { dbName });
    expect(await db.User.countDocuments({ username: 'in_flight' })).toBe(1);
    await db.close();
  });

  it('when a request outlives SHUTDOWN_TIMEOUT_MS, exits 1 once the timeout is over', async () => {
    const app = spawnApp({
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: testDb(),
      SHUTDOWN_TIMEOUT_MS: '1000',
    });
    const port = await app.listening();
    const held = heldRequest(port, '/api/tokens', { username: 'x', password: 'y' });
    held.response.catch(() => {});
    await settle(300);
    const start = Date.now();
    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(1);
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
    expect(app.logs.some((l) => /^shutdown took longer than 1000 ms/.test(String(l.msg)))).toBe(
      true,
    );
  });

  it('a second signal exits 1 at once', async () => {
    const app = spawnApp({
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: testDb(),
      SHUTDOWN_TIMEOUT_MS: '60000',
    });
    const port = await app.listening();
    const held = heldRequest(port, '/api/tokens', { username: 'x', password: 'y' });
    held.response.catch(() => {});
    await settle(300);
    app.child.kill('SIGTERM');
    await app.waitForLog((l) => l.msg === 'SIGTERM: shutting down');
    const start = Date.now();
    app.child.kill('SIGINT');
    expect((await app.exited).code).toBe(1);
    expect(Date.now() - start).toBeLessThan(3000);
    expect(app.logs.some((l) => l.msg === 'SIGINT during shutdown: exiting now')).toBe(true);
  });

  it('an unhandled rejection is logged, then the app shuts down gracefully and exits 1', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/reject-on-sigusr2.mjs', import.meta.url));
    const app = spawnApp({ MONGODB_URI: inject('mongoUri'), MONGODB_DB: testDb() }, [fixture]);
    await app.listening();
    app.child.kill('SIGUSR2');
    expect((await app.exited).code).toBe(1);
    const fatal = app.logs.find((l) => l.msg === 'unhandled rejection');
    expect((fatal?.err as { message?: string })?.message).toBe('test: a rejection nobody handles');
    expect(app.logs.map((l) => l.msg)).toContain('shutdown complete');
  });
});

describe('start-up', () => {
  it('retries an unreachable database with backoff, a log line each, then exits 1 with one line', async () => {
    const port = await freePort();
    const app = spawnApp({
      MONGODB_URI: `mongodb://app:s3cret-pw@127.0.0.1:${port}`,
      MONGODB_DB: 'test_unreachable',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '200',
      MONGODB_CONNECT_ATTEMPTS: '3',
      MONGODB_CONNECT_BACKOFF_MS: '100',
    });
    expect((await app.exited).code).toBe(1);
    const retries = app.logs.filter((l) => /^database not reachable/.test(String(l.msg)));
    expect(retries.map((l) => String(l.msg).replace(/: .*;/, ':;'))).toEqual([
      'database not reachable (attempt 1 of 3):; retrying in 100 ms',
      'database not reachable (attempt 2 of 3):; retrying in 200 ms',
    ]);
    // The driver's own redaction (mongodb-connection-string-url) writes `<credentials>`.
    expect(retries[0]?.target).toBe(`mongodb://<credentials>@127.0.0.1:${port}/`);
    expect(app.stderr().trim().split('\n')).toHaveLength(1);
    expect(app.stderr()).toMatch(/^start-up failed: /);
    expect(app.stdout() + app.stderr()).not.toContain('s3cret-pw');
  });

  it('a SIGTERM during the retries stops them and exits 0', async () => {
    const app = spawnApp({
      MONGODB_URI: `mongodb://127.0.0.1:${await freePort()}`,
      MONGODB_DB: 'test_never_connected',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '200',
      MONGODB_CONNECT_ATTEMPTS: '100',
      MONGODB_CONNECT_BACKOFF_MS: '5000',
    });
    await app.waitForLog((l) => /^database not reachable \(attempt 1 /.test(String(l.msg)));
    const start = Date.now();
    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
    expect(Date.now() - start).toBeLessThan(3000);
    expect(app.stderr()).toBe('');
  });

  it('keeps retrying until the database comes up, then serves without a restart', async (context) => {
    const port = await freePort();
    const app = spawnApp({
      MONGODB_URI: `mongodb://127.0.0.1:${port}`,
      // On a throw-away server of this test's own.
      MONGODB_DB: 'test_comes_up',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '300',
      MONGODB_CONNECT_ATTEMPTS: '30',
      MONGODB_CONNECT_BACKOFF_MS: '200',
    });
    await app.waitForLog((l) => /^database not reachable \(attempt 1 /.test(String(l.msg)));
    let engine: Awaited<ReturnType<typeof startEmbeddedEngine>>;
    try {
      engine = await startEmbeddedEngine({
        engine: (process.env.EMBEDDED_ENGINE ?? 'auto') as 'auto',
        port,
      });
    } catch (error) {
      app.child.kill('SIGKILL');
      const reason = `no engine of its own could be started (${(error as Error).message.split('\n')[0]})`;
      console.log(`skipped: ${reason}`);
      context.skip(reason);
      return;
    }
    try {
      const appPort = await app.listening(30_000);
      expect(await connects(appPort)).toBe(true);
      app.child.kill('SIGTERM');
      expect((await app.exited).code).toBe(0);
    } finally {
      await engine.stop();
    }
  }, 60_000);
});
