import { trusted } from 'mongoose';
import type supertest from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { deleteUser } from '../src/accounts/service.ts';
import { useTestApp } from './helpers/app.ts';
import { aPost, aUser, type TestUser } from './helpers/builders.ts';

const t = useTestApp('delete_user');

describe('deleting a user', () => {
  it('on a server without transactions, a retry after a crash between steps finishes the job', async () => {
    const user = await aUser(t.api);
    await aPost(t.api, user);
    // The state a crash after "delete the posts" leaves: posts gone, user still there. Then a
    // post slips in before the retry.
    await t.db.Post.deleteMany({ author: user.id });
    await aPost(t.api, user);
    const noTransactions = { ...t.db, capabilities: { ...t.db.capabilities, transactions: false } };
    await deleteUser(noTransactions, { id: user.id, username: user.username }, user.id);
    expect(await t.db.User.exists({ _id: user.id })).toBeNull();
    expect(await t.db.Post.countDocuments({ author: user.id })).toBe(0);
  });

  it('inside a transaction, a failure leaves both the user and the posts in place', async (ctx) => {
    if (!t.db.capabilities.transactions) {
      console.log(
        `skipped: the ${t.db.capabilities.engine} ${t.db.capabilities.engineVersion} test server has no multi-document transactions (FerretDB v1 never has them; mongod needs a replica set)`,
      );
      ctx.skip();
    }
    const user = await aUser(t.api);
    await aPost(t.api, user);
    await expect(
      t.db.connection.transaction(async (session) => {
        await t.db.Post.deleteMany({ author: user.id }, { session });
        throw new Error('crash between the two deletes');
      }),
    ).rejects.toThrow('crash');
    expect(await t.db.Post.countDocuments({ author: user.id })).toBe(1);
    await deleteUser(t.db, { id: user.id, username: user.username }, user.id);
    expect(await t.db.User.exists({ _id: user.id })).toBeNull();
    expect(await t.db.Post.countDocuments({ author: user.id })).toBe(0);
  });
});

/** Repeats `send` until it answers anything but `ok` (or `cap` times); returns every response. */
async function keepSending(send: () => supertest.Test, ok: number, cap: number) {
  const responses: supertest.Response[] = [];
  for (let i = 0; i < cap; i += 1) {
    const res = await send();
    responses.push(res);
    if (res.status !== ok) break;
  }
  return responses;
}

describe('deleting a user while its clients keep writing', () => {
  it('with four clients posting, the deletion finishes and nothing of the user remains', async () => {
    const user = await aUser(t.api);
    // Four clients of the same account, each with its own token.
    const tokens = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const login = await t.api
          .post('/api/tokens')
          .send({ username: user.username, password: user.password });
        expect(login.status).toBe(200);
        return { Authorization: `Bearer ${login.body.token}` };
      }),
    );
    for (let i = 0; i < 3; i += 1) await aPost(t.api, user);
    const tags = ['del-race-a', 'del-race-b'];
    const clients = tokens.map((auth) =>
      keepSending(() => t.api.post('/api/posts').set(auth).send({ body: 'more', tags }), 201, 400),
    );
    // The deletion starts while the clients are posting.
    await vi.waitFor(
      async () => expect(await t.db.Post.countDocuments({ author: user.id })).toBeGreaterThan(7),
      { timeout: 20_000, interval: 20 },
    );
    const deletion = await t.api.delete(`/api/users/${user.id}`).set(user.auth);
    expect(deletion.status, JSON.stringify(deletion.body)).toBe(204);
    const sent = await Promise.all(clients);
    for (const responses of sent) {
      const last = responses.at(-1) as supertest.Response;
      // Each client was stopped by the deletion, not by the loop's cap.
      expect(last.status, JSON.stringify(last.body)).toBe(401);
      expect(last.body.error.code).toBe('invalid-token');
      for (const res of responses.slice(0, -1)) {
        expect(res.status).toBe(201);
        expect(res.body.tags).toEqual(tags);
      }
    }
    expect(await t.db.User.exists({ _id: user.id })).toBeNull();
    expect(await t.db.Post.countDocuments({ author: user.id })).toBe(0);
    // Counter moves commute, so on an engine that keeps MongoDB's rules the counts are exact
    // as soon as the deletion answered. On FerretDB v1 this race has left a count at -1 with
    // no post (which engine rule it breaks here is not pinned down; `npm run doctor` lists the
    // ones it breaks); the reconciler's pass repairs it.
    if (!t.db.capabilities.atomicUpdates) await t.reconciler.runOnce({ full: true });
    const counts = await t.db.Tag.find({ name: trusted({ $in: tags }) }).lean();
    for (const tag of counts) expect(tag.postCount, tag.name).toBe(0);
  });

  it('follows racing the deletion of either side leave no edge, and counts agree with the lists', async () => {
    const doomed = await aUser(t.api);
    const fans = await Promise.all([aUser(t.api), aUser(t.api), aUser(t.api)]);
    const idols = await Promise.all([aUser(t.api), aUser(t.api)]);
    const toggle = (from: TestUser, to: TestUser) => async () => {
      const responses: supertest.Response[] = [];
      for (let i = 0; i < 60; i += 1) {
        const res =
          i % 2 === 0
            ? await t.api.put(`/api/users/${to.id}/follow`).set(from.auth)
            : await t.api.delete(`/api/users/${to.id}/follow`).set(from.auth);
        responses.push(res);
        if (res.status !== 204) break;
      }
      return responses;
    };
    const racing = [
      ...fans.map((fan) => toggle(fan, doomed)()),
      ...idols.map((idol) => toggle(doomed, idol)()),
    ];
    await vi.waitFor(
      async () =>
        expect(
          await t.db.Follow.countDocuments({
            $or: [{ follower: doomed.id }, { followee: doomed.id }],
          }),
        ).toBeGreaterThan(0),
      { timeout: 20_000, interval: 10 },
    );
    const deletion = await t.api.delete(`/api/users/${doomed.id}`).set(doomed.auth);
    expect(deletion.status).toBe(204);
    const results = await Promise.all(racing);
    results.forEach((responses, i) => {
      const byFan = i < fans.length;
      for (const res of responses.slice(0, -1)) expect(res.status).toBe(204);
      const last = responses.at(-1) as supertest.Response;
      // A fan learns the followee is gone (404), the deleted user that its token is (401);
      // a loop that ran out before the deletion ends on a 204.
      if (last.status !== 204) {
        expect(last.status, JSON.stringify(last.body)).toBe(byFan ? 404 : 401);
        expect(last.body.error.code).toBe(byFan ? 'user-not-found' : 'invalid-token');
      }
    });
    expect(
      await t.db.Follow.countDocuments({ $or: [{ follower: doomed.id }, { followee: doomed.id }] }),
    ).toBe(0);
    for (const user of [...fans, ...idols]) {
      const view = await t.api.get(`/api/users/${user.id}`);
      const following = await t.api.get(`/api/users/${user.id}/following?limit=100`);
      const followers = await t.api.get(`/api/users/${user.id}/followers?limit=100`);
      expect(view.body.followingCount).toBe(following.body.items.length);
      expect(view.body.followerCount).toBe(followers.body.items.length);
    }
  });
});

describe('the user model', () => {
  it('never serializes the password hash or token version', async () => {
    const user = await aUser(t.api);
    const doc = await t.db.User.findById(user.id);
    const json = JSON.parse(JSON.stringify(doc));
    expect(json.passwordHash).toBeUndefined();
    expect(json.tokenVersion).toBeUndefined();
    expect(json).toMatchObject({ id: user.id, username: user.username });
  });

  it("reaches a user's posts through the virtual populate (the tutorial's backref)", async () => {
    const user = await aUser(t.api);
    await aPost(t.api, user, { body: 'one' });
    await aPost(t.api, user, { body: 'two' });
    const doc = await t.db.User.findById(user.id).populate('posts');
    const posts = (doc as unknown as { posts: { body: string }[] }).posts;
    expect(posts.map((p) => p.body).sort()).toEqual(['one', 'two']);
  });
});
