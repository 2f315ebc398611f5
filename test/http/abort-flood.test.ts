import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { startTs } from '../helpers/process.ts';
import { productionAppOnOwnEngine } from '../helpers/production-app.ts';
import type { SpawnedApp } from '../helpers/spawn-app.ts';

// A hostile client on one loopback address sends expensive list requests and hangs up on each
// after CLOSE_AFTER_MS; a bystander on another address asks for one small page at a time. The
// app runs as in production (its own process, default limits) on an engine of this file's own:
// the flood must not leave a backlog on the run's shared engine.
const FLOODER = '127.0.0.2';
const BYSTANDER = '127.0.0.3';
const SOCKETS = 50;
const CLOSE_AFTER_MS = 30;
const FLOOD_MS = 8000;
/** The bystander's 99th percentile while the flood runs: generous for a loaded 2-core machine
 * (docs/operations.md has the figures); without the fix it hangs past HANG_MS. */
const BYSTANDER_P99_MS = 8000;
/** A bystander request not answered by then counts as hung. */
const HANG_MS = 10_000;
/** Operations waiting for a pooled connection: bounded by the requests allowed in flight. */
const MAX_CHECKOUT_WAITING = 32;
const SHUTDOWN_TIMEOUT_MS = 10_000;

let own: Awaited<ReturnType<typeof productionAppOnOwnEngine>>;
let app: SpawnedApp;
let port: number;

beforeAll(async () => {
  own = await productionAppOnOwnEngine('abort_flood', {
    METRICS_ENABLED: 'true',
    MAX_EVENT_LOOP_LAG_MS: '500',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  });
  const { db } = own;
  const seeding = await startTestApp('abort_flood', {}, { db });
  const authors = await Promise.all(Array.from({ length: 4 }, () => aUser(seeding.api)));
  await db.Post.insertMany(
    Array.from({ length: 300 }, (_, i) => ({
      body: `post ${i} ${'x'.repeat(100)}`,
      author: authors[i % authors.length]?.id,
      tags: ['flood', `t${i % 7}`],
    })),
  );
  await seeding.close();
  ({ app, port } = await own.start());
}, 180_000);
afterAll(() => own?.stop(), 60_000);

/** One GET from `localAddress`; status 0 when it was not answered within HANG_MS. */
function get(path: string, localAddress: string) {
  const started = performance.now();
  return new Promise<{ status: number; ms: number; body: string }>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, agent: false });
    const done = (status: number, body = '') =>
      resolve({ status, ms: performance.now() - started, body });
    req.setTimeout(HANG_MS, () => req.destroy(new Error('hung')));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', () => done(0));
    req.end();
  });
}

const gauge = (metrics: string, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);

describe('a client that hangs up on its requests', () => {
  it(`cannot hold the API: another client's p99 stays under ${BYSTANDER_P99_MS} ms, the pool's wait queue stays bounded, and SIGTERM still exits 0`, async () => {
    const flood = startTs(
      'test/helpers/abort-flood.ts',
      [
        String(port),
        '/api/posts?limit=100',
        String(SOCKETS),
        FLOODER,
        String(FLOOD_MS),
        String(CLOSE_AFTER_MS),
      ],
      { env: {}, timeoutMs: FLOOD_MS + 60_000 },
    );
    await flood.waitFor(/flooding/, 'stdout', 30_000);
    const floodEnds = Date.now() + FLOOD_MS - 1500;
    const answers: { status: number; ms: number }[] = [];
    let waitingMax = 0;
    const sampler = setInterval(() => {
      void get('/metrics', '127.0.0.1').then(({ body }) => {
        waitingMax = Math.max(waitingMax, gauge(body, 'mongodb_pool_checkout_waiting') || 0);
      });
    }, 250);
    await new Promise((r) => setTimeout(r, 500));
    while (Date.now() < floodEnds && answers.length < 200) {
      answers.push(await get('/api/users?limit=1', BYSTANDER));
    }
    clearInterval(sampler);
    // Shutdown while the flood still runs.
    const stopping = performance.now();
    app.child.kill('SIGTERM');
    const exit = await Promise.race([
      app.exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), SHUTDOWN_TIMEOUT_MS + 5000)),
    ]);
    const shutdownMs = performance.now() - stopping;
    const { stdout } = await flood.done;
    const tally = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');

    const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
    const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    console.log(
      `abort flood: ${JSON.stringify(tally)}; bystander ${answers.length} requests, ${answers.filter((a) => a.status === 200).length} × 200, p50 ${p(0.5)?.toFixed(0)} ms, p99 ${p(0.99)?.toFixed(0)} ms; checkout waiting max ${waitingMax}; SIGTERM → ${JSON.stringify(exit)} in ${shutdownMs.toFixed(0)} ms`,
    );
    expect(answers.length).toBeGreaterThanOrEqual(1);
    // Every bystander answer is its page, or a fast refusal for overload (never a hang).
    for (const answer of answers) expect([200, 503]).toContain(answer.status);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(answers.length / 2);
    expect(p(0.99)).toBeLessThan(BYSTANDER_P99_MS);
    expect(waitingMax).toBeLessThanOrEqual(MAX_CHECKOUT_WAITING);
    expect(tally.sent).toBeGreaterThan(SOCKETS);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 120_000);
});
