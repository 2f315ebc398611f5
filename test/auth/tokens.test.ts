import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOCK_SKEW_SECONDS } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';

const t = useTestApp('auth_tokens');
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

describe('token responses', () => {
  it('POST /api/tokens answers with Cache-Control: no-store, on success and on failure', async () => {
    const user = await aUser(t.api);
    const ok = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: user.password });
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    const wrong = await t.api
      .post('/api/tokens')
      .send({ username: user.username, password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['cache-control']).toBe('no-store');
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

  /** A token signed with the app's secret, with the claims given (a missing one is left out). */
  function signed(userId: string, claims: { iat?: number; exp?: number }) {
    let jwt = new SignJWT({ ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer('microblog-mongo');
    if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
    if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
    return jwt.sign(secret);
  }
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('a token without exp, or without iat, is refused with 401 even when its signature is good', async () => {
    const user = await aUser(t.api);
    const noExp = await signed(user.id, { iat: nowSeconds() });
    const noIat = await signed(user.id, { exp: nowSeconds() + 600 });
    const good = await signed(user.id, { iat: nowSeconds(), exp: nowSeconds() + 600 });
    for (const token of [noExp, noIat]) {
      const res = await t.api.get(`/api/users/${user.id}`).set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid-token');
    }
    // The same token with both claims is good: the refusals are about the claims.
    const ok = await t.api.get(`/api/users/${user.id}`).set('Authorization', `Bearer ${good}`);
    expect(ok.status).toBe(200);
    expect(ok.body.email).toBe(user.email);
  });

  it(`a token issued more than ${CLOCK_SKEW_SECONDS} s in the future is refused; within that skew it is good`, async () => {
    const user = await aUser(t.api);
    const exp = nowSeconds() + 3600;
    const ahead = await signed(user.id, { iat: nowSeconds() + CLOCK_SKEW_SECONDS + 30, exp });
    const skewed = await signed(user.id, { iat: nowSeconds() + CLOCK_SKEW_SECONDS - 30, exp });
    const refused = await t.api
      .post('/api/posts')
      .set('Authorization', `Bearer ${ahead}`)
      .send({ body: 'from the future' });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('invalid-token');
    const accepted = await t.api
      .post('/api/posts')
      .set('Authorization', `Bearer ${skewed}`)
      .send({ body: 'slightly ahead' });
    expect(accepted.status).toBe(201);
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
