import type supertest from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { Database } from '../../src/db/connection.ts';
import { guardSocketWrites } from '../../src/db/socket-write-guard.ts';
import { connectDatabase } from '../../src/models.ts';
import { useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';

// What held /readyz at 503 after the outage test restarted its engine (1 run in ~14 under load,
// FerretDB, mongodb driver 7.8.0): the engine's stop closed every socket at once; Node had marked
// the driver monitor's socket destroyed but not yet emitted its 'close' when a request failed on
// another connection, the server was marked unknown and the monitor asked for a check. The check
// wrote its hello on the destroyed socket, whose write() returns false and which never emits
// 'drain': the driver waited for it for ever. The monitor never checked again, so the server
// stayed unknown and every request and /readyz answered 503 until the process was restarted,
// with the database up. src/db/socket-write-guard.ts makes that write fail instead.
//
// This file makes the same moment happen on purpose: it destroys the monitor's socket and asks
// for a check in one synchronous step (reaching into the driver's internals to do so), then cuts
// a request's connection (the fault proxy) so that the server is marked unknown. The database
// itself never goes away: a healthy app is ready again as soon as the monitor's next check runs.

/** The driver's record of the one server and its monitor (internals of the mongodb driver 7.8). */
interface DriverServer {
  requestCheck(): void;
  monitor: {
    s: { state: string };
    connection: { closed: boolean; socket: { destroy(): void } } | null;
  };
}
function driverServer(database: Database): DriverServer {
  const client = database.connection.getClient() as unknown as {
    topology: { s: { servers: Map<string, DriverServer> } };
  };
  const [server] = client.topology.s.servers.values();
  if (!server) throw new Error('the driver knows no server');
  return server;
}
/** The driver's minHeartbeatFrequencyMS: a check asked for sooner after the last one waits. */
const MIN_HEARTBEAT_MS = 500;
/** Ready again within this once the monitor can check (a stuck monitor: never). */
const RECOVERY_BOUND_MS = 15_000;

let proxy: FaultProxy;
let proxied: Database;
let direct: Database;
beforeAll(async () => {
  direct = await openTestDatabase('readiness');
  proxy = await startFaultProxy(inject('mongoUri'));
  proxied = await connectDatabase(proxy.uri, {
    dbName: direct.connection.name,
    serverSelectionTimeoutMS: 1000,
    connectTimeoutMS: 2000,
  });
});
const t = useTestApp('readiness', {}, () => ({ db: proxied }));
afterAll(async () => {
  await t.close();
  await proxy.close();
  await proxied.close();
  await dropTestDatabase(direct);
});

describe('the driver monitor', () => {
  it('still answers the app when its check was written on a socket the server had just closed', async () => {
    expect(guardSocketWrites()).toBe(true);
    const user = await aUser(t.api);
    await expect.poll(async () => (await t.api.get('/readyz')).status).toBe(200);
    const client = proxied.connection.getClient();
    const events: { name: string; at: number; type?: string }[] = [];
    const record = (name: string) => (event: { newDescription?: { type: string } }) =>
      events.push({ name, at: Date.now(), type: event.newDescription?.type });
    const listeners = {
      serverHeartbeatSucceeded: record('heartbeat ended'),
      serverHeartbeatFailed: record('heartbeat ended'),
      serverDescriptionChanged: record('server'),
    } as const;
    for (const [name, listener] of Object.entries(listeners)) client.on(name as 'close', listener);
    try {
      const server = driverServer(proxied);
      await vi.waitFor(() => {
        expect(server.monitor.s.state).toBe('idle');
        expect(server.monitor.connection?.closed).toBe(false);
      });
      // The driver delays a check asked for within MIN_HEARTBEAT_MS of the last one (by then the
      // socket's 'close' has been seen): this waits out a time, not a condition.
      await new Promise((r) => setTimeout(r, MIN_HEARTBEAT_MS + 100));
      const stalledAt = Date.now();
      server.monitor.connection?.socket.destroy();
      server.requestCheck();

      // A request whose connection is cut, as the engine's stop cut the writer's: the driver
      // marks the server unknown. (Where the stalled check has already failed, it has marked the
      // server unknown itself and the request is refused before its insert is sent.)
      const cut = proxy.arm({ command: 'insert', collection: 'posts', action: 'drop' });
      const res = await t.api.post('/api/posts').set(user.auth).send({ body: 'cut' });
      cut.disarm();
      expect(res.status).toBe(503);
      expect(events.some((e) => e.name === 'server' && e.type === 'Unknown')).toBe(true);

      // The database never went away: the next check finds it and the app is ready again.
      await expect
        .poll(async () => (await t.api.get('/readyz')).status, {
          timeout: RECOVERY_BOUND_MS,
          interval: 200,
        })
        .toBe(200);
      // The check written on the dead socket ended (it failed) instead of waiting for ever.
      expect(events.some((e) => e.name === 'heartbeat ended' && e.at >= stalledAt)).toBe(true);
      expect((await t.api.post('/api/posts').set(user.auth).send({ body: 'after' })).status).toBe(
        201,
      );
    } finally {
      for (const [name, listener] of Object.entries(listeners))
        client.off(name as 'close', listener);
    }
  }, 60_000);
});

/** Times a request; `.timeout` turns a hang into a failure that names it. */
async function timed(request: () => supertest.Test) {
  const start = performance.now();
  const res = await request().timeout(20_000);
  return { status: res.status, code: res.body?.error?.code, ms: performance.now() - start };
}
/** The hello's wait (HELLO_BOUND_MS in src/health/routes.ts) with room for a loaded machine. */
const READY_ANSWER_BOUND_MS = 2000 + 2000;

// The driver (7.8) puts no time limit on a command the server never answers: an operation's
// timeoutMS is a no-op there, and socketTimeoutMS is off. These tests hold commands at the proxy
// (a server that accepts them and never answers) and check that the app answers anyway.
describe('readiness when the database does not answer', () => {
  beforeEach(async () => {
    await expect.poll(async () => (await t.api.get('/readyz')).status).toBe(200);
  });

  it('GET /readyz answers 503 within its bound while hello hangs (each probe, not one after another), and 200 once it answers', async () => {
    const hang = proxy.arm({ command: 'hello', action: 'stall', times: 1_000_000 });
    try {
      const answers = await Promise.all([1, 2, 3].map(() => timed(() => t.api.get('/readyz'))));
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.code).toBe('database-unavailable');
        expect(answer.ms).toBeLessThan(READY_ANSWER_BOUND_MS);
      }
    } finally {
      hang.disarm();
      hang.release();
    }
    await expect
      .poll(async () => (await t.api.get('/readyz')).status, { timeout: RECOVERY_BOUND_MS })
      .toBe(200);
  });

  it('the API is back once the database answers, though the ping sent when it tripped never got an answer', async () => {
    const user = await aUser(t.api);
    // The ping sent when the request below fails is held for good (its connection never closes).
    const lostPing = proxy.arm({ command: 'ping', action: 'stall' });
    const cut = proxy.arm({ command: 'insert', collection: 'posts', action: 'drop' });
    try {
      const failed = await t.api.post('/api/posts').set(user.auth).send({ body: 'cut' });
      expect(failed.status).toBe(503);
      await lostPing.fired;

      await expect
        .poll(async () => (await timed(() => t.api.get('/api/posts'))).status, {
          timeout: RECOVERY_BOUND_MS,
          interval: 200,
        })
        .toBe(200);
      expect((await t.api.get('/readyz')).status).toBe(200);
    } finally {
      cut.disarm();
      lostPing.release();
    }
  });
});
