import { trusted } from 'mongoose';
import type supertest from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Database } from '../src/db/connection.ts';
import { MAX_TRANSACTION_ATTEMPTS } from '../src/db/transactions.ts';
import { useTestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';
import { dropTestDatabase } from './helpers/db.ts';
import {
  type DriverRetries,
  driverRetries,
  type FaultProxy,
  type FaultRule,
  openProxiedDatabase,
} from './helpers/fault-proxy.ts';

// Every write path, with the connection carrying one of its commands cut (or stalled): the
// request either fails (5xx, and then nothing is left half-done) or succeeds with every effect
// in place, and tag counts equal the posts that carry the tags (at once, or within the tag
// reconciler's bound when a counter write was lost). Runs on every engine, and each test says
// which answer each engine gives and why:
// - a post's writes run in no transaction (one insert, findAndModify or delete each, atomic on
//   every engine); its tag counters move after it by $inc, and a counter write that fails is
//   recorded and recounted from the posts by the API's reconciler (src/tags/reconciler.ts);
// - the driver's retryable writes (replica set and mongos only, see driverRetries) send insert,
//   updateOne, deleteOne, findAndModify and a bulk write of updates once more, with the same
//   txnNumber so the server applies them at most once; never deleteMany or updateMany;
// - on FerretDB (standalone: no retries) the one cut fails the write: a post's own write fails
//   the request (503), a counter's is recorded and recounted.
// - the user deletion's cascade still runs in a transaction where the server has them
//   (src/db/transactions.ts reruns it, up to MAX_TRANSACTION_ATTEMPTS runs).
// A test whose point is a failure cuts every attempt the engine would make (`EVERY_ATTEMPT`);
// one whose point is recovery cuts once and expects the answer the engine's retries give.
// FAULT_PROXY_AS_REPLICA_SET=1: the proxy presents the server as a replica-set primary, so that
// the driver's retryable writes run in front of FerretDB too (startFaultProxy). The tests of a
// lost reply are skipped then: FerretDB does not deduplicate a resent write as MongoDB does.
const AS_REPLICA_SET = process.env.FAULT_PROXY_AS_REPLICA_SET === '1';
const itUnlessPretending = AS_REPLICA_SET ? it.skip : it;

let proxy: FaultProxy;
let proxied: Database;
let direct: Database;
let retries: DriverRetries;
/** A request whose write runs in a transaction recovers from one cut by a rerun. */
let transactions: boolean;
beforeAll(async () => {
  const asReplicaSet = AS_REPLICA_SET;
  ({ proxy, proxied, direct } = await openProxiedDatabase('faults', { asReplicaSet }));
  retries = await driverRetries(proxied);
  transactions = proxied.capabilities.transactions;
  console.log(`faults: transactions ${transactions}, retryable writes ${retries.writes}`);
});
// The app runs on the proxied connection, which the file closes itself (afterAll below).
const t = useTestApp('faults', {}, () => ({ db: proxied }));
// More cuts than a transaction's runs and the driver's retry together: a fault that persists.
const EVERY_ATTEMPT = MAX_TRANSACTION_ATTEMPTS * 2;
// A cut connection makes the API answer 503 until a ping gets through again (src/http/
// database-guard.ts): each test starts once the API says it is ready.
const ready = () =>
  vi.waitFor(async () => expect((await t.api.get('/readyz')).status).toBe(200), {
    timeout: 20_000,
    interval: 100,
  });
beforeEach(ready);
afterAll(async () => {
  await t.close();
  await proxy.close();
  await proxied.close();
  await dropTestDatabase(direct);
});

/**
 * Sends the request with the fault armed; the fault must have fired. Disarms what is left of it
 * and waits for the API after.
 */
async function withFault(rule: FaultRule, request: () => supertest.Test) {
  const fault = proxy.arm(rule);
  try {
    const res = await request();
    await fault.fired;
    return res;
  } finally {
    fault.disarm();
    await ready();
  }
}

async function countsOf(names: string[]) {
  const stored = Object.fromEntries(
    (await direct.Tag.find({ name: trusted({ $in: names }) }).lean()).map((tag) => [
      tag.name,
      tag.postCount,
    ]),
  );
  const actual: Record<string, number> = {};
  for (const name of names) actual[name] = await direct.Post.countDocuments({ tags: name });
  return { stored: Object.fromEntries(names.map((n) => [n, stored[n] ?? 0])), actual };
}

/**
 * A counter write that failed is recorded and recounted by the API's reconciler, which runs
 * WAKE_DELAY_MS (200 ms) after the failure: counts are exact again well within this bound, which
 * leaves room for a busy CI machine and for the connection pool to reconnect after the cut.
 */
const EXACT_AGAIN_WITHIN_MS = 10_000;

async function expectExactCounts(names: string[]) {
  await vi.waitFor(
    async () => {
      const { stored, actual } = await countsOf(names);
      expect(stored).toEqual(actual);
    },
    { timeout: EXACT_AGAIN_WITHIN_MS, interval: 100 },
  );
}

// The post write itself went through, and the request succeeds whatever becomes of its counters.
// Where the driver retries writes, one cut of the counter update is retried (same txnNumber:
// applied once); elsewhere (FerretDB) it fails, the tags are recorded, and the reconciler
// recounts them within EXACT_AGAIN_WITHIN_MS.
describe('a post write whose tag-counter update is cut', () => {
  for (const action of ['drop', 'drop-reply'] as const) {
    const test = action === 'drop-reply' ? itUnlessPretending : it;
    test(`POST /api/posts (${action}): 201 with exact counts`, async () => {
      const user = await aUser(t.api);
      const names = [`c-${action}-a`, `c-${action}-b`];
      const res = await withFault({ command: 'update', collection: 'tags', action }, () =>
        t.api.post('/api/posts').set(user.auth).send({ body: 'x', tags: names }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(await direct.Post.countDocuments({ author: user.id })).toBe(1);
      await expectExactCounts(names);
    });

    test(`PATCH /api/posts/:id (${action}): 200 with exact counts`, async () => {
      const user = await aUser(t.api);
      const names = [`e-${action}-a`, `e-${action}-b`, `e-${action}-c`];
      const post = await aPost(t.api, user, { body: 'x', tags: names.slice(0, 2) });
      const res = await withFault({ command: 'update', collection: 'tags', action }, () =>
        t.api
          .patch(`/api/posts/${post.id}`)
          .set(user.auth)
          .send({ tags: names.slice(1) }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((await direct.Post.findById(post.id).lean())?.tags).toEqual(names.slice(1));
      await expectExactCounts(names);
    });

    test(`DELETE /api/posts/:id (${action}): 204 with exact counts`, async () => {
      const user = await aUser(t.api);
      const names = [`d-${action}-a`];
      const post = await aPost(t.api, user, { body: 'x', tags: names });
      await aPost(t.api, user, { body: 'x', tags: names });
      const res = await withFault({ command: 'update', collection: 'tags', action }, () =>
        t.api.delete(`/api/posts/${post.id}`).set(user.auth),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(204);
      expect(await direct.Post.exists({ _id: post.id })).toBeNull();
      await expectExactCounts(names);
    });
  }

  it('POST /api/posts with every attempt of its counter write cut: 201, the tag recorded, exact again within the bound', async () => {
    // Two cuts defeat the driver's one retry where it retries writes; on FerretDB the first
    // fails the write. The second cut is disarmed when the request has answered.
    const user = await aUser(t.api);
    const names = ['c-lost-a'];
    await aPost(t.api, user, { body: 'x', tags: names });
    const res = await withFault(
      { command: 'update', collection: 'tags', action: 'drop', times: 2 },
      () => t.api.post('/api/posts').set(user.auth).send({ body: 'x', tags: names }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await direct.Post.countDocuments({ tags: 'c-lost-a' })).toBe(2);
    await expectExactCounts(names);
    expect((await direct.Tag.findOne({ name: 'c-lost-a' }).lean())?.postCount).toBe(2);
    await vi.waitFor(async () => expect(await direct.TagRepair.countDocuments()).toBe(0), {
      timeout: EXACT_AGAIN_WITHIN_MS,
    });
  });
});

describe('a post write whose own command is cut', () => {
  // The post's insert and its delete (findAndModify) run on their own, in no transaction: both
  // are retryable writes. Only where the driver does not retry writes (FerretDB, a standalone
  // mongod) does one cut fail the request.
  const recoversFromOneCut = () => retries.writes;

  it('POST /api/posts with every insert attempt dropped: 503, no post, counts exact', async () => {
    const user = await aUser(t.api);
    const names = ['i-down-a'];
    const rule: FaultRule = { command: 'insert', collection: 'posts', action: 'drop' };
    const res = await withFault({ ...rule, times: EVERY_ATTEMPT }, () =>
      t.api.post('/api/posts').set(user.auth).send({ body: 'x', tags: names }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.body.error.code).toBe('database-unavailable');
    expect(await direct.Post.countDocuments({ author: user.id })).toBe(0);
    await expectExactCounts(names);
  });

  it('POST /api/posts with one insert dropped: 201 where a rerun or retry follows, else 503; counts exact', async () => {
    const user = await aUser(t.api);
    const names = ['i-drop-a'];
    const res = await withFault({ command: 'insert', collection: 'posts', action: 'drop' }, () =>
      t.api.post('/api/posts').set(user.auth).send({ body: 'x', tags: names }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(recoversFromOneCut() ? 201 : 503);
    expect(await direct.Post.countDocuments({ author: user.id })).toBe(res.status === 201 ? 1 : 0);
    await expectExactCounts(names);
  });

  itUnlessPretending(
    'POST /api/posts with the insert reply lost once: never a success without the post, never two posts',
    async () => {
      // The server ran the insert. A retryable write sends it again with the same txnNumber and
      // the server answers from its record instead of inserting twice; a transaction's rerun
      // starts after the first run was aborted, so its insert was never committed.
      const user = await aUser(t.api);
      const names = ['i-reply-a'];
      const res = await withFault(
        { command: 'insert', collection: 'posts', action: 'drop-reply' },
        () => t.api.post('/api/posts').set(user.auth).send({ body: 'x', tags: names }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(recoversFromOneCut() ? 201 : 503);
      const stored = await direct.Post.countDocuments({ author: user.id });
      if (res.status === 201) {
        expect(stored).toBe(1);
        expect(await direct.Post.exists({ _id: res.body.id })).not.toBeNull();
      } else {
        expect(stored).toBeLessThanOrEqual(1);
      }
      await expectExactCounts(names);
    },
  );

  it('DELETE /api/posts/:id with every delete attempt dropped: 503, the post and counts unchanged', async () => {
    const user = await aUser(t.api);
    const post = await aPost(t.api, user, { body: 'x', tags: ['del-down'] });
    const rule: FaultRule = { command: 'findAndModify', collection: 'posts', action: 'drop' };
    const res = await withFault({ ...rule, times: EVERY_ATTEMPT }, () =>
      t.api.delete(`/api/posts/${post.id}`).set(user.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(await direct.Post.exists({ _id: post.id })).not.toBeNull();
    await expectExactCounts(['del-down']);
  });

  it('DELETE /api/posts/:id with one delete dropped: 204 where a rerun or retry follows, else 503', async () => {
    const user = await aUser(t.api);
    const post = await aPost(t.api, user, { body: 'x', tags: ['del-drop'] });
    const res = await withFault(
      { command: 'findAndModify', collection: 'posts', action: 'drop' },
      () => t.api.delete(`/api/posts/${post.id}`).set(user.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(recoversFromOneCut() ? 204 : 503);
    expect(await direct.Post.exists({ _id: post.id })).toEqual(
      res.status === 204 ? null : expect.anything(),
    );
    await expectExactCounts(['del-drop']);
  });
});

describe('follows with the edge write cut', () => {
  // The edge is one upsert (updateOne) or one deleteOne, outside any transaction: both are
  // retryable writes, sent once more where the driver retries writes (replica set, mongos).
  // Two cuts defeat that one retry.

  it('PUT follow with both attempts dropped: 503 and no edge; lists agree with counts', async () => {
    const [fan, star] = [await aUser(t.api), await aUser(t.api)];
    const res = await withFault(
      { command: 'update', collection: 'follows', action: 'drop', times: 2 },
      () => t.api.put(`/api/users/${star.id}/follow`).set(fan.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(await direct.Follow.countDocuments({ follower: fan.id, followee: star.id })).toBe(0);
    expect((await t.api.get(`/api/users/${fan.id}/following`)).body.items).toHaveLength(0);
    expect((await t.api.get(`/api/users/${fan.id}`)).body.followingCount).toBe(0);
  });

  it('PUT follow dropped once: 204 and the edge where the driver retries writes, else 503 and none', async () => {
    const [fan, star] = [await aUser(t.api), await aUser(t.api)];
    const res = await withFault({ command: 'update', collection: 'follows', action: 'drop' }, () =>
      t.api.put(`/api/users/${star.id}/follow`).set(fan.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(retries.writes ? 204 : 503);
    const edges = await direct.Follow.countDocuments({ follower: fan.id, followee: star.id });
    expect(edges).toBe(retries.writes ? 1 : 0);
    const following = await t.api.get(`/api/users/${fan.id}/following`);
    expect(following.body.items).toHaveLength(edges);
    expect((await t.api.get(`/api/users/${fan.id}`)).body.followingCount).toBe(edges);
  });

  it('DELETE follow with both attempts dropped: 503 and the edge still there', async () => {
    const [fan, star] = [await aUser(t.api), await aUser(t.api)];
    expect((await t.api.put(`/api/users/${star.id}/follow`).set(fan.auth)).status).toBe(204);
    const res = await withFault(
      { command: 'delete', collection: 'follows', action: 'drop', times: 2 },
      () => t.api.delete(`/api/users/${star.id}/follow`).set(fan.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(await direct.Follow.countDocuments({ follower: fan.id, followee: star.id })).toBe(1);
    expect((await t.api.get(`/api/users/${star.id}/followers`)).body.items).toHaveLength(1);
  });

  it('DELETE follow dropped once: 204 and gone where the driver retries writes, else 503 and kept', async () => {
    const [fan, star] = [await aUser(t.api), await aUser(t.api)];
    expect((await t.api.put(`/api/users/${star.id}/follow`).set(fan.auth)).status).toBe(204);
    const res = await withFault({ command: 'delete', collection: 'follows', action: 'drop' }, () =>
      t.api.delete(`/api/users/${star.id}/follow`).set(fan.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(retries.writes ? 204 : 503);
    const edges = await direct.Follow.countDocuments({ follower: fan.id, followee: star.id });
    expect(edges).toBe(retries.writes ? 0 : 1);
    expect((await t.api.get(`/api/users/${star.id}/followers`)).body.items).toHaveLength(edges);
  });
});

describe('a user deletion cut half-way', () => {
  // The posts go with deleteMany, which the driver never retries. In a transaction the cut
  // aborts it and the rerun finishes the deletion (204); without one the request fails after
  // its first write (the mark), and the user finishes the job by deleting again.
  it('fails with 503 and locks the account where no transaction reruns it; deleting again after a new log-in finishes the job', async () => {
    const user = await aUser(t.api);
    const friend = await aUser(t.api);
    await aPost(t.api, user, { body: 'x', tags: ['gone-a', 'gone-b'] });
    await aPost(t.api, user, { body: 'x', tags: ['gone-a'] });
    expect((await t.api.put(`/api/users/${friend.id}/follow`).set(user.auth)).status).toBe(204);
    const res = await withFault({ command: 'delete', collection: 'posts', action: 'drop' }, () =>
      t.api.delete(`/api/users/${user.id}`).set(user.auth),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(transactions ? 204 : 503);
    if (res.status !== 204) {
      // The first write happened: the old token no longer works for anything.
      const refused = await t.api.post('/api/posts').set(user.auth).send({ body: 'after' });
      expect(refused.status).toBe(401);
      const login = await t.api
        .post('/api/tokens')
        .send({ username: user.username, password: user.password });
      expect(login.status).toBe(200);
      const again = await t.api
        .delete(`/api/users/${user.id}`)
        .set({ Authorization: `Bearer ${login.body.token}` });
      expect(again.status).toBe(204);
    }
    expect(await direct.User.exists({ _id: user.id })).toBeNull();
    expect(await direct.Post.countDocuments({ author: user.id })).toBe(0);
    expect(
      await direct.Follow.countDocuments({ $or: [{ follower: user.id }, { followee: user.id }] }),
    ).toBe(0);
    await expectExactCounts(['gone-a', 'gone-b']);
  });
});

// A stall is no error: the held command is sent on late, once, and nothing is retried.
describe('a follow stalled until its followee is deleted', () => {
  it('answers 404 and leaves no edge behind', async () => {
    const [fan, doomed] = [await aUser(t.api), await aUser(t.api)];
    const stalled = proxy.arm({ command: 'update', collection: 'follows', action: 'stall' });
    const following = t.api
      .put(`/api/users/${doomed.id}/follow`)
      .set(fan.auth)
      .then((r) => r);
    await stalled.fired;
    // The deletion runs while the follow's upsert is held between the proxy and the server.
    const deleted = await t.api.delete(`/api/users/${doomed.id}`).set(doomed.auth);
    expect(deleted.status).toBe(204);
    stalled.release();
    const res = await following;
    expect(res.status, JSON.stringify(res.body)).toBe(404);
    expect(res.body.error.code).toBe('user-not-found');
    expect(await direct.Follow.countDocuments({ followee: doomed.id })).toBe(0);
    expect((await t.api.get(`/api/users/${fan.id}`)).body.followingCount).toBe(0);
  });
});

describe('a post stalled until its author is deleted', () => {
  it('answers 401, and neither the post nor its tag counts outlive the author', async () => {
    const author = await aUser(t.api);
    const names = ['late-post'];
    const stalled = proxy.arm({ command: 'insert', collection: 'posts', action: 'stall' });
    const posting = t.api
      .post('/api/posts')
      .set(author.auth)
      .send({ body: 'late', tags: names })
      .then((r) => r);
    await stalled.fired;
    const deleted = await t.api.delete(`/api/users/${author.id}`).set(author.auth);
    expect(deleted.status).toBe(204);
    stalled.release();
    const res = await posting;
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(res.body.error.code).toBe('invalid-token');
    expect(await direct.Post.countDocuments({ author: author.id })).toBe(0);
    await expectExactCounts(names);
  });
});
