import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { answerClientErrors } from '../../src/http/client-errors.ts';
import { useTestApp } from '../helpers/app.ts';
import { aUser, type TestUser } from '../helpers/builders.ts';
import { dropTestDatabase, openTestDatabase, testDbName } from '../helpers/db.ts';
import { OpenApiChecker } from '../helpers/openapi-check.ts';
import { spawnApp } from '../helpers/spawn-app.ts';

const t = useTestApp('contract_malformed');
let alice: TestUser;
let server: Server;
let port: number;
let checker: OpenApiChecker;
beforeAll(async () => {
  alice = await aUser(t.api);
  checker = new OpenApiChecker(JSON.parse(JSON.stringify(t.app.locals.openApiDocument)));
  // The server main.ts builds: the app plus the answers to requests Node refuses itself.
  server = createServer(t.app);
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
}

/** Sends exactly these bytes and headers (no client library adding a Content-Type). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  payload?: Buffer | string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const answer = { status: res.statusCode ?? 0, headers: res.headers, text, body: undefined };
        try {
          answer.body = text ? JSON.parse(text) : undefined;
        } catch {}
        // Every answer here is held to the OpenAPI document too, as the supertest agent does.
        const problem = checker.check({
          method,
          url: path,
          status: answer.status,
          contentType: res.headers['content-type'],
          text,
          body: answer.body,
        });
        if (problem) reject(new Error(problem));
        else resolve(answer);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function postCount() {
  return t.db.Post.countDocuments();
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('a compressed body that is not what its Content-Encoding says', () => {
  const post = json({ body: 'compressed' });
  const gzipped = gzipSync(post);
  const cases: Array<[string, string, Buffer]> = [
    ['plain JSON labelled gzip', 'gzip', post],
    ['gzip cut short', 'gzip', gzipped.subarray(0, gzipped.length - 10)],
    ['gzip with a flipped byte', 'gzip', Buffer.from(gzipped).fill(0x55, 12, 16)],
    ['plain JSON labelled deflate', 'deflate', post],
    ['deflate cut short', 'deflate', deflateSync(post).subarray(0, 6)],
    ['plain JSON labelled br', 'br', post],
    ['brotli cut short', 'br', brotliCompressSync(post).subarray(0, 5)],
  ];
  it.each(cases)(
    'POST /api/posts with %s is 400 malformed-body and stores nothing',
    async (_name, encoding, bytes) => {
      const before = await postCount();
      const res = await raw(
        'POST',
        '/api/posts',
        { ...alice.auth, 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        bytes,
      );
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: { code: 'malformed-body', message: expect.stringMatching(/compressed/) },
      });
      expect(await postCount()).toBe(before);
    },
  );

  it('a well-formed gzip body is read (control)', async () => {
    const res = await raw(
      'POST',
      '/api/posts',
      { ...alice.auth, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      gzipped,
    );
    expect(res.status).toBe(201);
    expect((res.body as { body: string }).body).toBe('compressed');
  });
});

describe('a body that is not JSON on a route that takes one', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['text/plain', { 'Content-Type': 'text/plain' }, '{"body":"x"}'],
    ['form-encoded', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'body=x'],
    ['no Content-Type', {}, '{"body":"x"}'],
    ['multipart', { 'Content-Type': 'multipart/form-data; boundary=b' }, '--b--'],
    [
      'a +json type the API does not read',
      { 'Content-Type': 'application/merge-patch+json' },
      '{}',
    ],
  ];
  it.each(cases)(
    'POST /api/posts sent as %s is 415 unsupported-media-type',
    async (_name, headers, payload) => {
      const before = await postCount();
      const res = await raw('POST', '/api/posts', { ...alice.auth, ...headers }, payload);
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({
        error: {
          code: 'unsupported-media-type',
          message: expect.stringMatching(/application\/json/),
        },
      });
      expect(await postCount()).toBe(before);
    },
  );

  it('PUT /api/users/:id/profile and PATCH /api/users/:id sent as text/plain are 415 too', async () => {
    for (const [method, path] of [
      ['PUT', `/api/users/${alice.id}/profile`],
      ['PATCH', `/api/users/${alice.id}`],
      ['POST', '/api/users'],
      ['POST', '/api/tokens'],
    ] as const) {
      const res = await raw(method, path, { ...alice.auth, 'Content-Type': 'text/plain' }, 'x');
      expect([method, path, res.status]).toEqual([method, path, 415]);
    }
  });

  it.each(['utf-16', 'utf-16le', 'UTF-32', 'iso-8859-1', 'us-ascii', 'utf8', 'x-unknown'])(
    'a JSON body sent with charset=%s, even ASCII-only, is 415 and creates nothing',
    async (charset) => {
      const before = await postCount();
      const res = await raw(
        'POST',
        '/api/posts',
        { ...alice.auth, 'Content-Type': `application/json; charset=${charset}` },
        '{"body":"ascii only"}',
      );
      expect([
        charset,
        res.status,
        (res.body as { error?: { code?: string } }).error?.code,
      ]).toEqual([charset, 415, 'unsupported-media-type']);
      expect(await postCount()).toBe(before);
    },
  );

  it('a JSON body with charset=utf-8 in any case or quoted, or with no charset, is taken', async () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=UTF-8',
      'application/json;charset="utf-8"',
    ]) {
      const res = await raw(
        'POST',
        '/api/posts',
        { ...alice.auth, 'Content-Type': type },
        '{"body":"charset ok"}',
      );
      expect([type, res.status]).toEqual([type, 201]);
    }
  });

  it('a POST without any body is 400 validation-failed, not 415', async () => {
    const res = await raw('POST', '/api/posts', { ...alice.auth, 'Content-Length': '0' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'validation-failed' } });
  });
});

describe('a method a known path does not serve', () => {
  const cases: Array<[string, string, string]> = [
    ['PUT', '/api/posts', 'POST, GET, HEAD, OPTIONS'],
    ['DELETE', '/api/posts', 'POST, GET, HEAD, OPTIONS'],
    ['POST', '/api/posts/665f1c2b9d3e4a0012345678', 'GET, HEAD, PATCH, DELETE, OPTIONS'],
    ['TRACE', '/healthz', 'GET, HEAD, OPTIONS'],
    ['POST', '/readyz', 'GET, HEAD, OPTIONS'],
    ['PATCH', '/api/tokens', 'POST, DELETE, OPTIONS'],
    ['DELETE', '/openapi.json', 'GET, HEAD, OPTIONS'],
  ];
  it.each(cases)('%s %s is 405 method-not-allowed with Allow: %s', async (method, path, allow) => {
    const res = await raw(method, path, alice.auth);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toEqual({
      error: { code: 'method-not-allowed', message: expect.stringContaining(allow) },
    });
  });

  it('OPTIONS on a known path is 204 with Allow; an unknown path stays 404', async () => {
    const options = await raw('OPTIONS', '/api/posts');
    expect([options.status, options.headers.allow]).toEqual([204, 'POST, GET, HEAD, OPTIONS']);
    const unknown = await raw('PUT', '/api/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'not-found' } });
  });

  it('HEAD on a GET route is answered as GET (control)', async () => {
    expect((await raw('HEAD', '/healthz')).status).toBe(200);
  });
});

describe('a header block larger than the server accepts', () => {
  it('is 431 headers-too-large in the JSON error shape, not a bare status line', async () => {
    // On a kept-alive connection that has served requests before (raw() reuses connections),
    // several times, and with more to send than the limit: the answer must arrive every time,
    // not be lost to a connection reset while the client is still sending.
    expect((await raw('GET', '/healthz')).status).toBe(200);
    for (const size of [20_000, 64_000, 200_000]) {
      const res = await raw('GET', '/api/posts', { 'X-Padding': 'x'.repeat(size) });
      expect(res.status).toBe(431);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).toEqual({
        error: { code: 'headers-too-large', message: expect.stringMatching(/16 KB/) },
      });
    }
  });

  it('headers just under the limit are served (control)', async () => {
    const res = await raw('GET', '/healthz', { 'X-Padding': 'x'.repeat(12_000) });
    expect(res.status).toBe(200);
  });

  it('the server npm start runs answers them the same way', async () => {
    const dbName = testDbName('contract_main');
    const app = spawnApp({ MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName });
    try {
      const appPort = await app.listening(30_000);
      const res = await fetch(`http://127.0.0.1:${appPort}/healthz`, {
        headers: { 'X-Padding': 'x'.repeat(20_000) },
      });
      expect(res.status).toBe(431);
      expect(await res.json()).toMatchObject({ error: { code: 'headers-too-large' } });
    } finally {
      app.child.kill('SIGTERM');
      await app.exited;
      await dropTestDatabase(await openTestDatabase('contract_main', { dbName }));
    }
  }, 60_000);
});
