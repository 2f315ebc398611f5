import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionAppOnOwnEngine } from '../helpers/production-app.ts';

// An engine that stops answering without closing its connections (SIGSTOP on this file's own
// engine, as a frozen VM or a stalled disk does). A read already sent fails after
// MONGODB_SOCKET_TIMEOUT_MS (3 s); the driver retries it once on a new connection, whose handshake
// the paused engine never answers, and gives up after MONGODB_WAIT_QUEUE_TIMEOUT_MS (1 s). A wait
// for a connection whose handshake has stalled means the server is not answering: 503
// database-unavailable, not overloaded (src/http/database-guard.ts), and the requests after it
// fail at once. After SIGCONT the API serves again without a restart.
const SOCKET_TIMEOUT_MS = 3000;
const WAIT_QUEUE_TIMEOUT_MS = 1000;
/** The socket timeout, the retry's wait for a connection, and room for a loaded machine. */
const PAUSE_BOUND_MS = SOCKET_TIMEOUT_MS + WAIT_QUEUE_TIMEOUT_MS + 1500;
const PAUSE_MS = 8000;
const RECOVERY_BOUND_MS = 15_000;
const READERS = 4;

let own: Awaited<ReturnType<typeof productionAppOnOwnEngine>>;
let port: number;
beforeAll(async () => {
  own = await productionAppOnOwnEngine('paused_engine', {
    MONGODB_SOCKET_TIMEOUT_MS: String(SOCKET_TIMEOUT_MS),
    MONGODB_WAIT_QUEUE_TIMEOUT_MS: String(WAIT_QUEUE_TIMEOUT_MS),
  });
  ({ port } = await own.start());
}, 120_000);
afterAll(() => own?.stop(), 60_000);

interface Answer {
  status: number;
  code?: string;
  ms: number;
  at: number;
}

/** READERS loops of GET /api/users?limit=1 until stopped, each answer recorded. */
function keepReading() {
  const answers: Answer[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/api/users?limit=1`, {
        signal: AbortSignal.timeout(30_000),
      }).catch(() => undefined);
      const body = (await res?.json().catch(() => ({}))) as { error?: { code: string } };
      answers.push({
        status: res?.status ?? 0,
        code: body?.error?.code,
        ms: performance.now() - started,
        at: Date.now(),
      });
      if (res?.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
  };
  const loops = Promise.all(Array.from({ length: READERS }, loop));
  return {
    answers,
    stop: async () => {
      running = false;
      await loops;
    },
  };
}

describe('an engine that stops answering', () => {
  it(`gets a 503 within ${PAUSE_BOUND_MS} ms, and the API serves again after it resumes`, async (context) => {
    if (!own.engine.pid) context.skip('the engine has no pid of its own to pause');
    const readers = keepReading();
    await expect
      .poll(() => readers.answers.filter((a) => a.status === 200).length, { timeout: 20_000 })
      .toBeGreaterThan(5);
    process.kill(own.engine.pid as number, 'SIGSTOP');
    const pausedAt = Date.now();
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    process.kill(own.engine.pid as number, 'SIGCONT');
    const resumedAt = Date.now();
    await expect
      .poll(() => readers.answers.some((a) => a.status === 200 && a.at > resumedAt + 200), {
        timeout: RECOVERY_BOUND_MS,
        interval: 200,
      })
      .toBe(true);
    await readers.stop();

    const { answers } = readers;
    const during = answers.filter((a) => a.at > pausedAt && a.at <= resumedAt);
    const slowest = Math.max(...answers.map((a) => a.ms));
    const back = answers.find((a) => a.status === 200 && a.at > resumedAt);
    console.log(
      `paused engine: ${answers.length} answers, ${during.length} during the ${PAUSE_MS} ms pause (${during.filter((a) => a.status === 503).length} × 503), slowest ${slowest.toFixed(0)} ms; 200 again ${back ? back.at - resumedAt : '-'} ms after SIGCONT`,
    );
    for (const answer of answers) {
      if (answer.status !== 200) {
        expect(answer.status).toBe(503);
        expect(answer.code).toBe('database-unavailable');
      }
    }
    expect(slowest).toBeLessThan(PAUSE_BOUND_MS);
    expect(during.filter((a) => a.status === 503).length).toBeGreaterThan(READERS);
  }, 90_000);
});
