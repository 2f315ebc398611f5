import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { aUser } from './helpers/builders.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('auth');
});
afterAll(async () => {
  await t.close();
});

describe('POST /api/tokens', () => {
  it('logs in by username or by email (any case) and returns a token with its expiry', async () => {
    const user = await aUser(t.api, { email: 'Login.Me@example.com' });
    const byName = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: user.password });
    expect(byName.status).toBe(200);
    expect(byName.body.token.split('.')).toHaveLength(3);
    const expiresIn = Date.parse(byName.body.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(3500_000);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);
    const byEmail = await t.api
      .post('/api/tokens')
      .send({ email: 'LOGIN.ME@example.com', password: user.password });
    expect(byEmail.status).toBe(200);
  });

  it('answers a wrong password and an unknown user the same way: 401 invalid-credentials', async () => {
    const user = await aUser(t.api);
    const wrong = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: 'wrong password' });
    const unknown = await t.api
      .post('/api/tokens')
      .send({ username: 'nobody_here', password: 'wrong password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe('invalid-credentials');
  });

  it('when both or neither of username and email are given, returns 400', async () => {
    expect((await t.api.post('/api/tokens').send({ password: 'x' })).status).toBe(400);
    expect(
      (await t.api.post('/api/tokens').send({ username: 'a', email: 'a@b.c', password: 'x' }))
        .status,
    ).toBe(400);
  });
});

describe('bearer tokens', () => {
  const secret = new TextEncoder().encode(loadConfig({ NODE_ENV: 'test' }).auth.jwtSecret);

  it('an expired token is refused with 401 invalid-token', async () => {
    const user = await aUser(t.api);
    const expired = await new SignJWT({ ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer('microblog-mongo')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(secret);
    const res = await t.api
      .post('/api/posts')
      .set('Authorization', `Bearer ${expired}`)
      .send({ body: 'x' });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({
      code: 'invalid-token',
      message: 'The token has expired',
    });
  });

  it('a token signed with another secret is refused', async () => {
    const user = await aUser(t.api);
    const forged = await new SignJWT({ ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer('microblog-mongo')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('y'.repeat(40)));
    const res = await t.api
      .post('/api/posts')
      .set('Authorization', `Bearer ${forged}`)
      .send({ body: 'x' });
    expect(res.status).toBe(401);
  });

  it("a deleted user's token is refused", async () => {
    const user = await aUser(t.api);
    expect((await t.api.delete(`/api/users/${user.id}`).set(user.auth)).status).toBe(204);
    expect((await t.api.post('/api/posts').set(user.auth).send({ body: 'ghost' })).status).toBe(
      401,
    );
  });

  it('a malformed Authorization header is 401', async () => {
    const res = await t.api
      .post('/api/posts')
      .set('Authorization', 'Basic dXNlcjpwYXNz')
      .send({ body: 'x' });
    expect(res.status).toBe(401);
  });
});
