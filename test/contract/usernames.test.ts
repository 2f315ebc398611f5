import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';

const t = useTestApp('contract_usernames');

const password = 'correct horse battery';
const register = (
  username: string,
  email = `${username.replace(/\W/g, '_')}_${Date.now()}@example.com`,
) => t.api.post('/api/users').send({ username, email, password });

describe('usernames are unique regardless of case', () => {
  it('CaseX, then casex or CASEX is 409 username-taken; the first spelling is kept', async () => {
    const first = await register('CaseX');
    expect(first.status).toBe(201);
    for (const other of ['casex', 'CASEX', 'cAsEx']) {
      const res = await register(other);
      expect([other, res.status, res.body.error?.code]).toEqual([other, 409, 'username-taken']);
    }
    const shown = await t.api.get(`/api/users/${first.body.id}`);
    expect(shown.body.username).toBe('CaseX');
    expect(await t.db.User.countDocuments({ usernameKey: 'casex' })).toBe(1);
  });

  it('logging in by username ignores case', async () => {
    await register('MixedCase');
    for (const spelling of ['MixedCase', 'mixedcase', 'MIXEDCASE']) {
      const res = await t.api.post('/api/tokens').send({ username: spelling, password });
      expect([spelling, res.status]).toEqual([spelling, 200]);
    }
  });

  it('renaming to another spelling of a taken name is 409; re-casing your own name is fine', async () => {
    const owner = await aUser(t.api, { username: 'Taken_Name' });
    const other = await aUser(t.api);
    const clash = await t.api
      .patch(`/api/users/${other.id}`)
      .set(other.auth)
      .send({ username: 'taken_NAME' });
    expect([clash.status, clash.body.error?.code]).toEqual([409, 'username-taken']);
    const recased = await t.api
      .patch(`/api/users/${owner.id}`)
      .set(owner.auth)
      .send({ username: 'TAKEN_name' });
    expect([recased.status, recased.body.username]).toEqual([200, 'TAKEN_name']);
    const login = await t.api.post('/api/tokens').send({ username: 'taken_name', password });
    expect(login.status).toBe(200);
  });
});

describe('allowed username characters', () => {
  it.each(['...', '---', '_._', '-.-_'])('%s, only punctuation, is 400', async (name) => {
    const res = await register(name);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0]).toMatchObject({
      path: 'body.username',
      message: expect.stringMatching(/at least one letter or digit/),
    });
  });

  it.each([' padded', 'with space', 'tab\tname', 'ümlaut', 'emoji🙂'])(
    '%j is 400',
    async (name) => {
      expect((await register(name)).status).toBe(400);
    },
  );

  it.each(['a..', '.x.', 'J.R.R', '_9_'])('%s, with a letter or digit, is taken', async (name) => {
    expect((await register(name)).status).toBe(201);
  });
});

describe('POST /api/tokens identifiers', () => {
  it('with both username and email is 400 with a message that says to send one', async () => {
    const user = await aUser(t.api);
    const res = await t.api
      .post('/api/tokens')
      .send({ username: user.username, email: user.email, password: user.password });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: 'body', message: 'send either username or email with the password, not both' },
    ]);
  });

  it('with neither is 400 with the same message', async () => {
    const res = await t.api.post('/api/tokens').send({ password });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].message).toMatch(/either username or email/);
  });
});
