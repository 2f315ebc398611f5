import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { startTestApp } from '../helpers/app.ts';
import { testDbName } from '../helpers/db.ts';
import { type SpawnedApp, spawnApp } from '../helpers/spawn-app.ts';

/** The value of one series in Prometheus text exposition, or undefined when absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const started: SpawnedApp[] = [];
afterAll(async () => {
  for (const app of started) {
    app.child.kill('SIGTERM');
    await app.exited;
  }
});

async function start(env: Record<string, string>) {
  const app = spawnApp({
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: testDbName('metrics'),
    MIGRATIONS_ON_START: 'apply',
    METRICS_ENABLED: 'true',
    ...env,
  });
  started.push(app);
  const port = await app.listening(90_000);
  return { app, base: `http://127.0.0.1:${port}` };
}

const json = (body: unknown, token?: string) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  },
  body: JSON.stringify(body),
});

describe('/metrics on a port of its own (METRICS_PORT)', () => {
  it('exposes request, MongoDB, pool, event-loop and process series that move with traffic', async () => {
    const { app, base } = await start({ METRICS_PORT: '0' });
    const line = await app.waitForLog((l) => /^metrics on http:/.test(String(l.msg)));
    const metricsUrl = /(http:\S+\/metrics)$/.exec(String(line.msg))?.[1] ?? '';
    const scrape = async () => {
      const res = await fetch(metricsUrl);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    const created = { method: 'POST', route: '/api/users', status_code: '201' };
    const userById = { method: 'GET', route: '/api/users/:id', status_code: '404' };
    const unmatched = { method: 'GET', route: 'unmatched', status_code: '404' };
    const inserts = { command: 'insert', outcome: 'succeeded' };
    const before = await scrape();

    const name = `m_${Date.now().toString(36)}`;
    const password = 'metrics passphrase';
    const user = await fetch(
      `${base}/api/users`,
      json({ username: name, email: `${name}@example.com`, password }),
    );
    expect(user.status).toBe(201);
    const login = await fetch(`${base}/api/tokens`, json({ username: name, password }));
    const { token } = (await login.json()) as { token: string };
    expect((await fetch(`${base}/api/posts`, json({ body: 'counted' }, token))).status).toBe(201);
    expect((await fetch(`${base}/api/users/${'0'.repeat(24)}`)).status).toBe(404);
    expect((await fetch(`${base}/no/such/${Date.now()}`)).status).toBe(404);
    const after = await scrape();

    const count = (text: string, labels: Record<string, string>) =>
      sample(text, 'http_request_duration_seconds_count', labels) ?? 0;
    expect(count(after, created) - count(before, created)).toBe(1);
    expect(count(after, userById) - count(before, userById)).toBe(1);
    expect(count(after, unmatched) - count(before, unmatched)).toBe(1);
    // Raw paths never become labels: the id and the unknown path are nowhere in the text.
    expect(after).not.toContain('0'.repeat(24));
    expect(after).not.toContain('/no/such');
    const dbCount = (text: string) =>
      sample(text, 'mongodb_command_duration_seconds_count', inserts) ?? 0;
    expect(dbCount(after) - dbCount(before)).toBeGreaterThanOrEqual(2); // the user, the post
    expect(sample(after, 'mongodb_pool_connections', { state: 'open' })).toBeGreaterThanOrEqual(1);
    // Background work (the presence and counter writes after a response, the schema watch) may
    // hold a connection at any one scrape: the gauge must come back to 0 once it is done.
    await vi.waitFor(
      async () =>
        expect(sample(await scrape(), 'mongodb_pool_connections', { state: 'in_use' })).toBe(0),
      { timeout: 20_000, interval: 200 },
    );
    expect(sample(after, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    expect(sample(after, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(sample(after, 'process_cpu_seconds_total')).toBeGreaterThan(
      sample(before, 'process_cpu_seconds_total') ?? Number.POSITIVE_INFINITY,
    );
    // Not on the API's port when it has its own.
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('counts a request in flight until its response is sent', async () => {
    const { app, base } = await start({ METRICS_PORT: '0' });
    const line = await app.waitForLog((l) => /^metrics on http:/.test(String(l.msg)));
    const metricsUrl = /(http:\S+\/metrics)$/.exec(String(line.msg))?.[1] ?? '';
    const inFlight = async () =>
      sample(await (await fetch(metricsUrl)).text(), 'http_requests_in_flight');
    expect(await inFlight()).toBe(0);

    // A request whose body has not all arrived is in flight (the JSON parser waits for it).
    const body = JSON.stringify({ username: 'x', password: 'y' });
    const { port } = new URL(base);
    const held = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/tokens',
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    });
    const answered = new Promise<number>((resolve, reject) => {
      held.once('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      held.once('error', reject);
    });
    held.write(body.slice(0, 5));
    await vi.waitFor(async () => expect(await inFlight()).toBe(1), { timeout: 20_000 });

    held.end(body.slice(5));
    expect(await answered).toBe(401);
    await vi.waitFor(async () => expect(await inFlight()).toBe(0), { timeout: 20_000 });
  });
});

describe('/metrics on the API port (METRICS_ALLOW)', () => {
  it('answers the allowed socket addresses (default: loopback) and counts itself', async () => {
    const { base } = await start({});
    const first = await fetch(`${base}/metrics`);
    expect(first.status).toBe(200);
    await first.text();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(
      sample(text, 'http_request_duration_seconds_count', {
        route: '/metrics',
        status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('is not found for an address outside the list, whatever X-Forwarded-For claims', async () => {
    const { base } = await start({ METRICS_ALLOW: '10.9.9.9', TRUST_PROXY_HOPS: '1' });

    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const spoofed = await fetch(`${base}/metrics`, { headers: { 'x-forwarded-for': '10.9.9.9' } });
    expect(spoofed.status).toBe(404);
    expect(await spoofed.text()).not.toContain('http_request_duration_seconds');
  });

  it('is not there at all unless METRICS_ENABLED', async () => {
    const t = await startTestApp('metrics_off');
    try {
      expect((await t.api.get('/metrics')).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
