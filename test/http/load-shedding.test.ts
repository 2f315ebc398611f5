import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { startTs } from '../helpers/process.ts';

// Two clients on two loopback addresses (Linux routes all of 127.0.0.0/8 to lo), against a real
// server: one floods the API with slow list requests, the other asks for one small page.
const FLOODER = '127.0.0.2';
const BYSTANDER = '127.0.0.3';
const FLOOD = 300;
/** How long the flood lasts; the bystander asks one second after it began. */
const FLOOD_MS = 5000;
/**
 * The bystander's bound, in the flood's own currency so that it holds on a fast machine and on a
 * loaded one alike: its 200 comes within the time the server takes to serve PAGES_BOUND of the
 * flood's pages (at the rate measured in the same run), or it gets a 503 within SHED_BOUND_MS.
 * Without the cap it waits behind the whole flood of 300; docs/operations.md has the measured
 * page-times with and without. HANG_BOUND_MS only stops a test that would hang.
 */
const PAGES_BOUND = 100;
const HANG_BOUND_MS = 60_000;
const SHED_BOUND_MS = 1000;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('load');
  const authors = await Promise.all(Array.from({ length: 4 }, () => aUser(t.api)));
  await t.db.Post.insertMany(
    Array.from({ length: 300 }, (_, i) => ({
      body: `post ${i} ${'x'.repeat(100)}`,
      author: authors[i % authors.length]?.id,
      tags: ['load', `t${i % 7}`],
    })),
  );
}, 120_000);
afterAll(async () => {
  await t.close();
});

interface FloodAnswer {
  status: number;
  retryAfter?: string;
  code?: string;
  items?: number;
  ms: number;
  at: number;
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { items?: unknown[]; error?: { code: string } };
  ms: number;
}

/** One GET from the given local address, on a connection of its own. */
function get(port: number, path: string, localAddress: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The app on a real port for the duration of fn, with its own limits. */
async function serving<T>(env: Record<string, string>, fn: (port: number) => Promise<T>) {
  const app = await startTestApp('load', env, { db: t.db });
  const server = app.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function expectRefusal(answer: Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.body.error?.code).toBe(code);
  expect(answer.retryAfter).toBe('1');
}

describe('one client cannot starve the others', () => {
  it(`while one client holds ${FLOOD} slow list requests, another gets its page within the time of ${PAGES_BOUND} of its pages (or a 503 within ${SHED_BOUND_MS} ms)`, async () => {
    // The defaults an operator gets: 8 in flight per client, 256 in all, 500 ms of lag.
    const env = {
      MAX_IN_FLIGHT_PER_CLIENT: '8',
      MAX_IN_FLIGHT: '256',
      MAX_EVENT_LOOP_LAG_MS: '500',
    };
    const { flood, bystander } = await serving(env, async (port) => {
      const flooder = startTs(
        'test/helpers/flood.ts',
        [String(port), '/api/posts?limit=100', String(FLOOD), FLOODER, String(FLOOD_MS)],
        { env: {}, timeoutMs: FLOOD_MS + 60_000 },
      );
      await flooder.waitFor(/flooding/, 'stdout', 30_000);
      // Once the flood has filled its share of the server, then some.
      await new Promise((r) => setTimeout(r, 1000));
      const bystander = await get(port, '/api/users?limit=1', BYSTANDER);
      const { code, stdout } = await flooder.done;
      expect(code).toBe(0);
      const flood = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as FloodAnswer);
      return { flood, bystander };
    });

    const served = flood.filter((a) => a.status === 200);
    // The server's time per flood page: from the flood's first request to its last page served.
    const began = Math.min(...flood.map((a) => a.at - a.ms));
    const pageMs = (Math.max(...served.map((a) => a.at)) - began) / served.length;
    const pageTimes = bystander.ms / pageMs;
    console.log(
      `load: bystander ${bystander.status} in ${bystander.ms.toFixed(0)} ms = ${pageTimes.toFixed(1)} page-times (${pageMs.toFixed(0)} ms each); flood: ${flood.length} requests, ${served.length} served (slowest ${Math.max(...served.map((a) => a.ms))} ms), ${flood.filter((a) => a.status === 429).length} refused 429, ${flood.filter((a) => a.status === 503).length} shed 503`,
    );
    if (bystander.status === 200) {
      expect(pageTimes).toBeLessThan(PAGES_BOUND);
      expect(bystander.ms).toBeLessThan(HANG_BOUND_MS);
      expect(bystander.body.items).toHaveLength(1);
    } else {
      expectRefusal(bystander, 503, 'overloaded');
      expect(bystander.ms).toBeLessThan(SHED_BOUND_MS);
    }
    // Every answer of the flood is a full page, a 429 for its own excess, or a 503 while shed.
    for (const answer of flood) {
      if (answer.status === 200) expect(answer.items).toBe(100);
      else if (answer.status === 429) expect(answer.code).toBe('too-many-requests');
      else expect([answer.status, answer.code]).toEqual([503, 'overloaded']);
      if (answer.status !== 200) expect(answer.retryAfter).toBe('1');
    }
    expect(served.length).toBeGreaterThanOrEqual(8);
    expect(flood.length).toBeGreaterThan(FLOOD);
    expect(flood.filter((a) => a.status === 429).length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a client its requests over the cap at once, and frees each slot when its request ends', async () => {
    const env = {
      MAX_IN_FLIGHT_PER_CLIENT: '3',
      MAX_IN_FLIGHT: '1000',
      MAX_EVENT_LOOP_LAG_MS: '0',
    };
    await serving(env, async (port) => {
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => get(port, '/api/posts?limit=100', FLOODER)),
      );
      const served = burst.filter((a) => a.status === 200);
      expect(served.length).toBeGreaterThanOrEqual(3);
      for (const answer of burst.filter((a) => a.status !== 200)) {
        expectRefusal(answer, 429, 'too-many-requests');
      }
      // Every slot was given back: the same client may again have 3 in flight at once.
      const again = await Promise.all(
        Array.from({ length: 3 }, () => get(port, '/api/posts?limit=100', FLOODER)),
      );
      expect(again.map((a) => a.status)).toEqual([200, 200, 200]);
      // Health probes are neither counted nor refused.
      expect((await get(port, '/healthz', FLOODER)).status).toBe(200);
    });
  }, 60_000);

  it('sheds requests with 503 overloaded while the process has too many in flight', async () => {
    const env = {
      MAX_IN_FLIGHT_PER_CLIENT: '1000',
      MAX_IN_FLIGHT: '4',
      MAX_EVENT_LOOP_LAG_MS: '0',
    };
    await serving(env, async (port) => {
      const burst = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          get(port, '/api/posts?limit=100', i % 2 ? FLOODER : BYSTANDER),
        ),
      );
      const shed = burst.filter((a) => a.status !== 200);
      expect(shed.length).toBeGreaterThan(0);
      for (const answer of shed) expectRefusal(answer, 503, 'overloaded');
      for (const answer of burst.filter((a) => a.status === 200)) {
        expect(answer.body.items).toHaveLength(100);
      }
      const after = await Promise.all(
        Array.from({ length: 4 }, () => get(port, '/api/tags?limit=1', BYSTANDER)),
      );
      expect(after.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    });
  }, 60_000);

  it('sheds requests with 503 overloaded while the event loop lags, and serves again once it does not', async () => {
    const env = {
      MAX_IN_FLIGHT_PER_CLIENT: '1000',
      MAX_IN_FLIGHT: '1000',
      MAX_EVENT_LOOP_LAG_MS: '200',
    };
    await serving(env, async (port) => {
      // Let the lag sampler take a sample or two first.
      await vi.waitFor(
        async () => expect((await get(port, '/api/tags?limit=1', BYSTANDER)).status).toBe(200),
        {
          timeout: 20_000,
          interval: 200,
        },
      );
      // Block the event loop (the app runs in this process), then ask at once.
      const until = performance.now() + 800;
      while (performance.now() < until) {
        // busy: what a CPU-bound handler or a GC storm does to every request
      }
      const pending = get(port, '/api/tags?limit=1', BYSTANDER);
      const shed = await pending;
      expectRefusal(shed, 503, 'overloaded');
      expect(shed.ms).toBeLessThan(SHED_BOUND_MS);
      await vi.waitFor(
        async () => expect((await get(port, '/api/tags?limit=1', BYSTANDER)).status).toBe(200),
        { timeout: 20_000, interval: 100 },
      );
    });
  }, 60_000);
});
