import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteUser } from '../src/users/service.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('delete_user');
});
afterAll(async () => {
  await t.close();
});

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
    await aPost(t.api, user, 'one');
    await aPost(t.api, user, 'two');
    const doc = await t.db.User.findById(user.id).populate('posts');
    const posts = (doc as unknown as { posts: { body: string }[] }).posts;
    expect(posts.map((p) => p.body).sort()).toEqual(['one', 'two']);
  });
});
