import { describe, expect, it } from 'vitest';
import { startTestApp, useTestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';

const t = useTestApp('users');

describe('POST /api/users', () => {
  it('registers a user and returns it with its email lower-cased and no password hash', async () => {
    const res = await t.api
      .post('/api/users')
      .send({ username: 'reg_ok', email: 'Reg.OK@Example.COM', password: 'long enough pw' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ username: 'reg_ok', email: 'reg.ok@example.com' });
    expect(res.body.id).toMatch(/^[0-9a-f]{24}$/);
    expect(JSON.stringify(res.body)).not.toMatch(/password|argon/i);
    const stored = await t.db.User.findById(res.body.id).lean();
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('when the username is taken, returns 409 username-taken', async () => {
    await aUser(t.api, { username: 'dup_name' });
    const res = await t.api
      .post('/api/users')
      .send({ username: 'dup_name', email: 'other@example.com', password: 'long enough pw' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('username-taken');
  });

  it('when the email is taken in another case, returns 409 email-taken', async () => {
    await aUser(t.api, { email: 'same@example.com' });
    const res = await t.api
      .post('/api/users')
      .send({ username: 'someone_else', email: 'SAME@example.com', password: 'long enough pw' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('email-taken');
  });

  it('when fields are invalid, returns 400 with a detail per field and stores nothing', async () => {
    const before = await t.db.User.countDocuments();
    const res = await t.api
      .post('/api/users')
      .send({ username: 'x', email: 'not-an-email', password: 'short' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation-failed');
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.username', 'body.email', 'body.password']));
    expect(await t.db.User.countDocuments()).toBe(before);
  });

  it('when an unknown field is sent, returns 400', async () => {
    const res = await t.api.post('/api/users').send({
      username: 'extra_f',
      email: 'extra@example.com',
      password: 'long enough pw',
      admin: true,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].message).toMatch(/admin/);
  });
});

describe('GET /api/users/:id', () => {
  it('returns the user with its post count, without email for other viewers', async () => {
    const user = await aUser(t.api);
    await aPost(t.api, user);
    await aPost(t.api, user);
    const res = await t.api.get(`/api/users/${user.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, username: user.username, postCount: 2 });
    expect(res.body.email).toBeUndefined();
  });

  it('shows the email to the user itself', async () => {
    const user = await aUser(t.api);
    const res = await t.api.get(`/api/users/${user.id}`).set(user.auth);
    expect(res.body.email).toBe(user.email);
  });

  it('when the id is malformed, returns 400; when unknown, 404 user-not-found', async () => {
    expect((await t.api.get('/api/users/not-an-id')).status).toBe(400);
    const res = await t.api.get('/api/users/0123456789abcdef01234567');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('user-not-found');
  });
});

describe('GET /api/users', () => {
  it('sorts by username both ways and pages with a cursor', async () => {
    const local = await startTestApp('users_list');
    try {
      for (const name of ['carol', 'alice', 'eve', 'bob', 'dave'])
        await aUser(local.api, { username: name });
      const asc = await local.api.get('/api/users?limit=2');
      expect(asc.body.items.map((u: { username: string }) => u.username)).toEqual(['alice', 'bob']);
      const next = await local.api.get(`/api/users?limit=2&cursor=${asc.body.nextCursor}`);
      expect(next.body.items.map((u: { username: string }) => u.username)).toEqual([
        'carol',
        'dave',
      ]);
      const last = await local.api.get(`/api/users?limit=2&cursor=${next.body.nextCursor}`);
      expect(last.body).toMatchObject({ nextCursor: null });
      expect(last.body.items.map((u: { username: string }) => u.username)).toEqual(['eve']);
      const desc = await local.api.get('/api/users?sort=-username&limit=3');
      expect(desc.body.items.map((u: { username: string }) => u.username)).toEqual([
        'eve',
        'dave',
        'carol',
      ]);
      const descNext = await local.api.get(
        `/api/users?sort=-username&limit=3&cursor=${desc.body.nextCursor}`,
      );
      expect(descNext.body.items.map((u: { username: string }) => u.username)).toEqual([
        'bob',
        'alice',
      ]);
      expect(asc.body.items[0].email).toBeUndefined();
    } finally {
      await local.close();
    }
  });

  it('when sort or limit is invalid, returns 400', async () => {
    expect((await t.api.get('/api/users?sort=email')).status).toBe(400);
    expect((await t.api.get('/api/users?limit=0')).status).toBe(400);
    expect((await t.api.get('/api/users?limit=101')).status).toBe(400);
  });
});

describe('PATCH /api/users/:id', () => {
  it('changes your own username and email', async () => {
    const user = await aUser(t.api);
    const res = await t.api
      .patch(`/api/users/${user.id}`)
      .set(user.auth)
      .send({ username: `${user.username}_2`, email: 'New@Example.com' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: `${user.username}_2`, email: 'new@example.com' });
  });

  it("when it is someone else's account, returns 403 and changes nothing", async () => {
    const owner = await aUser(t.api);
    const intruder = await aUser(t.api);
    const res = await t.api
      .patch(`/api/users/${owner.id}`)
      .set(intruder.auth)
      .send({ username: 'hijacked' });
    expect(res.status).toBe(403);
    expect((await t.db.User.findById(owner.id).lean())?.username).toBe(owner.username);
  });

  it('without a token returns 401; with a garbage token, 401 invalid-token', async () => {
    const user = await aUser(t.api);
    expect((await t.api.patch(`/api/users/${user.id}`).send({ username: 'nope' })).status).toBe(
      401,
    );
    const res = await t.api
      .patch(`/api/users/${user.id}`)
      .set('Authorization', 'Bearer not.a.token')
      .send({ username: 'nope' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid-token');
  });

  it('when the new username is taken, returns 409 username-taken', async () => {
    const a = await aUser(t.api);
    const b = await aUser(t.api);
    const res = await t.api.patch(`/api/users/${b.id}`).set(b.auth).send({ username: a.username });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('username-taken');
  });

  it('with an empty body, returns 400', async () => {
    const user = await aUser(t.api);
    expect((await t.api.patch(`/api/users/${user.id}`).set(user.auth).send({})).status).toBe(400);
  });
});

describe('DELETE /api/users/:id', () => {
  it("deletes your account and your posts, and leaves other users' posts alone", async () => {
    const leaving = await aUser(t.api);
    const staying = await aUser(t.api);
    await aPost(t.api, leaving);
    await aPost(t.api, leaving);
    const kept = await aPost(t.api, staying);
    const res = await t.api.delete(`/api/users/${leaving.id}`).set(leaving.auth);
    expect(res.status).toBe(204);
    expect(await t.db.User.exists({ _id: leaving.id })).toBeNull();
    expect(await t.db.Post.countDocuments({ author: leaving.id })).toBe(0);
    expect(await t.db.Post.exists({ _id: kept.id })).not.toBeNull();
    expect((await t.api.get(`/api/users/${leaving.id}`)).status).toBe(404);
  });

  it("when it is someone else's account, returns 403 and deletes nothing", async () => {
    const owner = await aUser(t.api);
    const intruder = await aUser(t.api);
    await aPost(t.api, owner);
    expect((await t.api.delete(`/api/users/${owner.id}`).set(intruder.auth)).status).toBe(403);
    expect(await t.db.Post.countDocuments({ author: owner.id })).toBe(1);
  });
});

describe('ids in paths are canonical', () => {
  it('an upper-case id names the same user: self-follow is 422, your own account is yours', async () => {
    const { api } = t;
    const me = await aUser(api);
    const upper = me.id.toUpperCase();
    const follow = await api.put(`/api/users/${upper}/follow`).set(me.auth);
    expect(follow.status).toBe(422);
    expect(follow.body.error.code).toBe('cannot-follow-self');
    expect((await api.get(`/api/users/${me.id}/followers`)).body.items).toEqual([]);
    const seen = await api.get(`/api/users/${upper}`).set(me.auth);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: me.id, email: me.email });
    const renamed = await api
      .patch(`/api/users/${upper}`)
      .set(me.auth)
      .send({ username: `${me.username}_x` });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    const profile = await api
      .put(`/api/users/${upper}/profile`)
      .set(me.auth)
      .send({ aboutMe: 'hi' });
    expect(profile.status).toBe(200);
    expect((await api.delete(`/api/users/${upper}`).set(me.auth)).status).toBe(204);
    expect(await t.db.User.exists({ _id: me.id })).toBeNull();
  });
});
