import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { redactSecrets } from '../../src/shared/connection-string.ts';
import { startTestApp, useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';

/** A pino destination that keeps the JSON lines. */
function logSink() {
  const lines: string[] = [];
  return {
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    write: (line: string) => {
      lines.push(line);
    },
  };
}

const ALLOWED = 'https://app.example.com';
const logs = logSink();
const t = useTestApp('http_headers', { CORS_ORIGINS: ALLOWED, LOG_LEVEL: 'info' }, { logs });

describe('security headers', () => {
  it('every response carries helmet headers and no X-Powered-By', async () => {
    for (const url of ['/api/posts', '/api/nothing', '/healthz']) {
      const res = await t.api.get(url);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });
});

describe('CORS', () => {
  it('allows a configured origin and exposes the request id and rate-limit headers', async () => {
    const res = await t.api.get('/api/posts').set('Origin', ALLOWED);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
    expect(res.headers['access-control-expose-headers']).toMatch(/Retry-After/);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('gives any other origin no Access-Control-Allow-Origin, so browsers withhold the answer', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.io', 'null']) {
      const res = await t.api.get('/api/posts').set('Origin', origin);
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });

  it('answers a preflight from a configured origin with the methods and headers', async () => {
    const res = await t.api
      .options('/api/posts')
      .set('Origin', ALLOWED)
      .set('Access-Control-Request-Method', 'PATCH')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(res.headers['access-control-allow-methods']).toMatch(/PATCH/);
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
    const evil = await t.api
      .options('/api/posts')
      .set('Origin', 'https://evil.example.com')
      .set('Access-Control-Request-Method', 'DELETE');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows no cross-origin caller at all when CORS_ORIGINS is unset', async () => {
    const app = await startTestApp('no_cors', {}, { db: t.db });
    const res = await app.api.get('/api/posts').set('Origin', ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('request ids and logs', () => {
  it('every response has an X-Request-Id, and the log lines of that request carry it', async () => {
    const responses = [
      await t.api.get('/api/posts'),
      await t.api.get('/api/nothing-here'),
      await t.api.post('/api/posts').send({ body: 'no token' }),
      await t.api.post('/api/users').send({ username: 'x' }),
      await t.api.get('/healthz').set('X-Request-Id', 'from-the-proxy-42'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 404, 401, 400, 200]);
    expect(responses[4]?.headers['x-request-id']).toBe('from-the-proxy-42');
    for (const res of responses) {
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
      const lines = logs.records().filter((r) => r.requestId === id);
      expect(lines.length, `log lines for ${id}`).toBeGreaterThanOrEqual(1);
      expect(
        lines.find((r) => r.msg === 'request completed' || r.msg === 'request errored'),
      ).toBeDefined();
    }
    // Rejected requests log their error code under their request id too.
    const rejected = logs
      .records()
      .find((r) => r.requestId === responses[1]?.headers['x-request-id'] && r.code);
    expect(rejected?.code).toBe('not-found');
  });

  it('logs are one JSON object per line with level, time and message', () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const record of logs.records()) {
      expect(record).toMatchObject({
        level: expect.any(Number),
        time: expect.any(Number),
        msg: expect.any(String),
      });
    }
  });

  it('never logs a password, a bearer token or a connection string password', async () => {
    const password = 'a very secret passphrase';
    const user = await aUser(t.api, { password });
    await t.api.get(`/api/users/${user.id}`).set(user.auth);
    await t.api.post('/api/tokens').send({ username: user.username, password: 'wrong but secret' });
    const all = logs.lines.join('\n');
    expect(all).not.toContain(password);
    expect(all).not.toContain('wrong but secret');
    expect(all).not.toContain(user.token);
    expect(all).not.toMatch(/Bearer /);
  });

  it('never logs a token sent in the query string or the path, under any name or encoding', async () => {
    const user = await aUser(t.api);
    const dotted = user.token.replaceAll('.', '%2E');
    const urls = [
      `/api/posts?access_token=${user.token}`,
      `/api/posts?limit=5&t=${user.token}`,
      `/api/posts?limit=${user.token}`,
      `/api/posts?${user.token}`,
      `/api/users/${user.token}`,
      `/api/posts?x=${dotted}`,
      `/api/posts?code=${encodeURIComponent('not-a-jwt-secret')}`,
    ];
    for (const url of urls) {
      const res = await t.api.get(url);
      const lines = logs.records().filter((r) => r.requestId === res.headers['x-request-id']);
      expect(lines.length, url).toBeGreaterThanOrEqual(1);
      const text = JSON.stringify(lines);
      expect(text, url).toContain('[redacted]');
      expect(text, url).not.toContain(user.token.split('.')[1]);
      expect(text, url).not.toContain('not-a-jwt-secret');
    }
    // The API's own query keys stay readable.
    const listed = await t.api.get(`/api/posts?limit=5&author=${user.id}`);
    expect(listed.status).toBe(200);
    const line = logs
      .records()
      .find((r) => r.requestId === listed.headers['x-request-id'] && r.req !== undefined);
    expect(line?.req).toMatchObject({ url: `/api/posts?limit=5&author=${user.id}` });
    expect(logs.lines.join('\n')).not.toContain(user.token);
  });

  it('redacts secrets wherever a log call puts them, and connection-string credentials', () => {
    const sink = logSink();
    const logger = createLogger('info', sink);
    logger.info(
      { password: 'p1', user: { password: 'p2', token: 't1' }, a: { b: { token: 't2' } } },
      'x',
    );
    logger.info({ config: { auth: { jwtSecret: 's3cr3t-value' } } }, 'y');
    expect(sink.lines.join('')).not.toMatch(/p1|p2|t1|t2|s3cr3t-value/);
    // One redaction for every connection string (src/shared/connection-string.ts).
    expect(redactSecrets('mongodb://app:hunter2@db.internal:27017/blog')).toBe(
      'mongodb://<credentials>@db.internal:27017/blog',
    );
    expect(redactSecrets('mongodb+srv://u:p@cluster.example.net')).not.toContain('p@');
    expect(redactSecrets('mongodb://127.0.0.1:27017/')).toBe('mongodb://127.0.0.1:27017/');
  });
});
