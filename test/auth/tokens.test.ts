import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('auth_tokens');
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  vi.useRealTimers();
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

describe('revoking tokens', () => {
  it('DELETE /api/tokens revokes every token of the caller; a new login works', async () => {
    const user = await aUser(t.api);
    const second = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: user.password });
    const other = { Authorization: `Bearer ${second.body.token}` };
    expect((await t.api.delete('/api/tokens').set(user.auth)).status).toBe(204);
    for (const auth of [user.auth, other]) {
      const res = await t.api.post('/api/posts').set(auth).send({ body: 'after logout' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid-token');
    }
    const again = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: user.password });
    const res = await t.api
      .post('/api/posts')
      .set('Authorization', `Bearer ${again.body.token}`)
      .send({ body: 'back' });
    expect(res.status).toBe(201);
  });

  it('DELETE /api/tokens without a token is 401', async () => {
    expect((await t.api.delete('/api/tokens')).status).toBe(401);
  });

  it('a password change revokes every earlier token', async () => {
    const user = await aUser(t.api);
    const second = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: user.password });
    const res = await t.api
      .patch(`/api/users/${user.id}`)
      .set(user.auth)
      .send({ password: 'a brand new password' });
    expect(res.status).toBe(200);
    for (const token of [user.token, second.body.token]) {
      expect(
        (await t.api.get(`/api/users/${user.id}`).set('Authorization', `Bearer ${token}`)).status,
      ).toBe(401);
    }
    expect(
      (await t.api.post('/api/tokens').send({ username: user.username, password: user.password }))
        .status,
    ).toBe(401);
    expect(
      (
        await t.api
          .post('/api/tokens')
          .send({ username: user.username, password: 'a brand new password' })
      ).status,
    ).toBe(200);
  });

  it('a token stops working once its lifetime (TOKEN_TTL_SECONDS) is over', async () => {
    const user = await aUser(t.api);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    expect((await t.api.get(`/api/users/${user.id}`).set(user.auth)).status).toBe(200);
    vi.setSystemTime(Date.now() + 3601_000);
    const res = await t.api.get(`/api/users/${user.id}`).set(user.auth);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('The token has expired');
  });
});
