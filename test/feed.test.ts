import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';
import { recordCommands } from './helpers/db.ts';

const t = useTestApp('feed');

describe('GET /api/feed', () => {
  it("holds the followed users' posts and your own, newest first, with authors and tags", async () => {
    const me = await aUser(t.api);
    const friend = await aUser(t.api);
    const stranger = await aUser(t.api);
    await t.api.put(`/api/users/${friend.id}/follow`).set(me.auth);
    await aPost(t.api, friend, { body: 'friend 1', tags: ['news'] });
    await aPost(t.api, stranger, { body: 'stranger 1' });
    await aPost(t.api, me, { body: 'mine 1' });
    await aPost(t.api, friend, { body: 'friend 2' });

    const res = await t.api.get('/api/feed').set(me.auth);
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { body: string }) => p.body)).toEqual([
      'friend 2',
      'mine 1',
      'friend 1',
    ]);
    expect(res.body.items[2]).toMatchObject({
      tags: ['news'],
      author: { id: friend.id, username: friend.username },
    });

    await t.api.delete(`/api/users/${friend.id}/follow`).set(me.auth);
    const after = await t.api.get('/api/feed').set(me.auth);
    expect(after.body.items.map((p: { body: string }) => p.body)).toEqual(['mine 1']);
  });

  it('pages with a cursor and needs a token', async () => {
    const me = await aUser(t.api);
    for (let i = 0; i < 5; i += 1) await aPost(t.api, me, { body: `p${i}` });
    const first = await t.api.get('/api/feed?limit=3').set(me.auth);
    const second = await t.api
      .get(`/api/feed?limit=3&cursor=${first.body.nextCursor}`)
      .set(me.auth);
    expect(
      [...first.body.items, ...second.body.items].map((p: { body: string }) => p.body),
    ).toEqual(['p4', 'p3', 'p2', 'p1', 'p0']);
    expect(second.body.nextCursor).toBeNull();
    expect((await t.api.get('/api/feed')).status).toBe(401);
  });

  it('stays correct for a caller following 3,000 users, in the same number of commands', async () => {
    const me = await aUser(t.api);
    const authors = Array.from({ length: 3000 }, (_, i) => ({
      _id: new Types.ObjectId(),
      username: `bulk_${i}_${me.username}`,
      email: `bulk_${i}_${me.username}@example.com`,
      passwordHash: 'not-a-real-hash',
    }));
    await t.db.User.insertMany(authors);
    await t.db.Follow.insertMany(authors.map((a) => ({ follower: me.id, followee: a._id })));
    const base = Date.UTC(2030, 0, 1);
    // Every 100th followee posts; the newest posts come from the last ones followed.
    await t.db.Post.insertMany(
      authors
        .filter((_, i) => i % 100 === 0)
        .map((a, i) => ({
          body: `bulk ${i}`,
          author: a._id,
          timestamp: new Date(base + i * 1000),
        })),
    );
    let res:
      | { status: number; body: { items: { body: string; author: { username: string } }[] } }
      | undefined;
    const commands = await recordCommands(t.db, async () => {
      res = await t.api.get('/api/feed?limit=5').set(me.auth);
    });
    expect(res?.status).toBe(200);
    expect(res?.body.items.map((p) => p.body)).toEqual([
      'bulk 29',
      'bulk 28',
      'bulk 27',
      'bulk 26',
      'bulk 25',
    ]);
    expect(res?.body.items[0]?.author.username).toBe(`bulk_2900_${me.username}`);
    // Followee ids, posts, then the authors and the reader's record (the token check) in one.
    expect(commands.filter((c) => c !== 'update')).toEqual(['distinct', 'find', 'find']);
  });
});

describe('database commands of the feed', () => {
  it('are the same for a page of 1 and a page of 50', async () => {
    const me = await aUser(t.api);
    const friends = await Promise.all([aUser(t.api), aUser(t.api), aUser(t.api)]);
    for (const f of friends) {
      await t.api.put(`/api/users/${f.id}/follow`).set(me.auth);
      // One insert per friend: 60 one-by-one creates outlasted the test's 30 s on a loaded machine.
      await t.db.Post.insertMany(
        Array.from({ length: 20 }, (_, i) => ({ body: `x${i}`, author: f.id })),
      );
    }
    await t.api.get('/api/feed').set(me.auth); // records lastSeen, so the counts below hold no write
    const small = await recordCommands(t.db, () => t.api.get('/api/feed?limit=1').set(me.auth));
    const large = await recordCommands(t.db, () => t.api.get('/api/feed?limit=50').set(me.auth));
    expect(small).toEqual(['distinct', 'find', 'find']);
    expect(large).toEqual(small);
  });

  it('are three for an empty feed too, the token check included', async () => {
    const me = await aUser(t.api);
    await t.api.get('/api/feed').set(me.auth);
    let res: { status: number; body: { items: unknown[] } } | undefined;
    const commands = await recordCommands(t.db, async () => {
      res = await t.api.get('/api/feed').set(me.auth);
    });
    expect(res?.status).toBe(200);
    expect(res?.body.items).toEqual([]);
    expect(commands).toEqual(['distinct', 'find', 'find']);
  });
});

describe('the token check folded into the feed', () => {
  it('refuses a revoked token with 401 and no posts', async () => {
    const me = await aUser(t.api);
    await aPost(t.api, me, { body: 'secret' });
    expect((await t.api.get('/api/feed').set(me.auth)).status).toBe(200);
    expect((await t.api.delete('/api/tokens').set(me.auth)).status).toBe(204);
    const res = await t.api.get('/api/feed').set(me.auth);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid-token');
    expect(JSON.stringify(res.body)).not.toContain('secret');
  });

  it("refuses a deleted user's token, even when the feed holds others' posts", async () => {
    const me = await aUser(t.api);
    const friend = await aUser(t.api);
    await t.api.put(`/api/users/${friend.id}/follow`).set(me.auth);
    await aPost(t.api, friend, { body: 'still here' });
    const token = me.auth;
    expect((await t.api.delete(`/api/users/${me.id}`).set(token)).status).toBe(204);
    const res = await t.api.get('/api/feed').set(token);
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain('still here');
  });

  it('refuses a forged or malformed token before any database command', async () => {
    const me = await aUser(t.api);
    const [header, payload] = me.auth.Authorization.replace('Bearer ', '').split('.');
    const forged = `Bearer ${header}.${payload}.${'A'.repeat(43)}`;
    let statuses: number[] = [];
    const commands = await recordCommands(t.db, async () => {
      statuses = [
        (await t.api.get('/api/feed').set({ Authorization: forged })).status,
        (await t.api.get('/api/feed').set({ Authorization: 'Bearer not a token' })).status,
      ];
    });
    expect(statuses).toEqual([401, 401]);
    expect(commands).toEqual([]);
  });
});
