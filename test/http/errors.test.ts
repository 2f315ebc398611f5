import { describe, expect, it } from 'vitest';
import { startTestApp, useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { dropTestDatabase } from '../helpers/db.ts';

const t = useTestApp('http_errors', { BODY_LIMIT_BYTES: '2048' });

function expectErrorShape(body: unknown, code: string) {
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe('error responses', () => {
  it('malformed JSON is 400 malformed-json', async () => {
    const res = await t.api
      .post('/api/users')
      .set('Content-Type', 'application/json')
      .send('{"username": ');
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'malformed-json');
  });

  it('a body over the limit is 413 payload-too-large and stores nothing', async () => {
    const before = await t.db.User.countDocuments();
    const res = await t.api
      .post('/api/users')
      .send({ username: 'big', email: 'big@example.com', password: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
    expectErrorShape(res.body, 'payload-too-large');
    expect(await t.db.User.countDocuments()).toBe(before);
  });

  it('an unknown route is 404 not-found in the same shape', async () => {
    const res = await t.api.get('/api/nothing-here');
    expect(res.status).toBe(404);
    expectErrorShape(res.body, 'not-found');
  });

  it('a JSON array or scalar where an object is expected is 400, not 500', async () => {
    for (const payload of ['[]', '"text"', '42', 'null']) {
      const res = await t.api
        .post('/api/users')
        .set('Content-Type', 'application/json')
        .send(payload);
      expect(res.status).toBe(400);
    }
  });

  it('wrong types in a body are 400 validation-failed with details', async () => {
    const user = await aUser(t.api);
    const res = await t.api
      .post('/api/posts')
      .set(user.auth)
      .send({ body: { $gt: '' } });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'validation-failed');
    expect(res.body.error.details[0]).toMatchObject({ path: 'body.body' });
  });

  it('operator-looking query parameters are rejected, never used as a query', async () => {
    const res = await t.api.get('/api/posts?author[$ne]=x');
    expect(res.status).toBe(400);
    const repeated = await t.api.get('/api/posts?limit=1&limit=2');
    expect(repeated.status).toBe(400);
  });

  it('every response carries an X-Request-Id, echoing a well-formed incoming one', async () => {
    const res = await t.api.get('/healthz').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    const generated = await t.api.get('/api/nothing').set('X-Request-Id', 'bad id with spaces');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a body on a route that takes none is 400', async () => {
    const res = await t.api
      .get('/api/users')
      .set('Content-Type', 'application/json')
      .send({ x: 1 });
    expect(res.status).toBe(400);
  });
});

describe('health and readiness', () => {
  it('GET /healthz is 200 ok', async () => {
    const res = await t.api.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 while the database answers', async () => {
    const res = await t.api.get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
  });

  it('GET /readyz is 503 database-unavailable once the connection is gone', async () => {
    const local = await startTestApp('readyz_down');
    await dropTestDatabase(local.db);
    const res = await local.api.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('database-unavailable');
  });
});
