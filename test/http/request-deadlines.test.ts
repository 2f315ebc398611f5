import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../src/db/connection.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';
import { type SpawnedApp, spawnApp } from '../helpers/spawn-app.ts';

// The app as in production, in its own process: a request has REQUEST_TIMEOUT_MS to arrive whole.
const REQUEST_TIMEOUT_MS = 2000;
/** Node checks its request deadlines once a second (src/main.ts), plus room for a busy machine. */
const CUT_BOUND_MS = REQUEST_TIMEOUT_MS + 1000 + 1500;
const TRICKLER = '127.0.0.2';

let db: Database;
let app: SpawnedApp;
let port: number;
beforeAll(async () => {
  db = await openTestDatabase('request_deadlines');
  app = spawnApp({
    NODE_ENV: 'production',
    JWT_SECRET: 'a'.repeat(40),
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: db.connection.name,
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    MAX_IN_FLIGHT_PER_CLIENT: '2',
  });
  port = await app.listening(60_000);
}, 120_000);
afterAll(async () => {
  app?.child.kill('SIGTERM');
  await app?.exited;
  if (db) await dropTestDatabase(db);
});

/** A POST whose 100-byte body arrives one byte every 500 ms; resolves with the raw answer. */
function trickle(): Promise<{ head: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: TRICKLER });
    let answer = '';
    const timer = setInterval(() => socket.write('{'), 500);
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ head: answer.split('\r\n')[0] ?? '', ms: performance.now() - started });
    });
    socket.on('error', () => {});
    socket.write(
      'POST /api/posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
    );
  });
}

function statusOf(path: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('request deadlines', () => {
  it(`cuts a body trickled byte by byte with 408 within ${CUT_BOUND_MS} ms, and frees its slot`, async () => {
    const trickled = await Promise.all([trickle(), trickle()]);
    for (const { head, ms } of trickled) {
      expect(head).toBe('HTTP/1.1 408 Request Timeout');
      expect(ms).toBeLessThan(CUT_BOUND_MS);
    }
    // Both of the address's slots are free again.
    const after = await Promise.all([1, 2].map(() => statusOf('/api/users?limit=1', TRICKLER)));
    expect(after).toEqual([200, 200]);
  }, 30_000);

  it('answers POST /api/tokens with malformed JSON 400 with Cache-Control: no-store', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"username": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('malformed-json');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
