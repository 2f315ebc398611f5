import { describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';

const t = useTestApp('follows');

const counts = async (id: string) => {
  const res = await t.api.get(`/api/users/${id}`);
  return { followers: res.body.followerCount, following: res.body.followingCount };
};

describe('PUT/DELETE /api/users/:id/follow', () => {
  it('follows and unfollows idempotently; counts on the user resource stay right', async () => {
    const fan = await aUser(t.api);
    const star = await aUser(t.api);
    expect((await t.api.put(`/api/users/${star.id}/follow`).set(fan.auth)).status).toBe(204);
    expect((await t.api.put(`/api/users/${star.id}/follow`).set(fan.auth)).status).toBe(204);
    expect(await counts(star.id)).toEqual({ followers: 1, following: 0 });
    expect(await counts(fan.id)).toEqual({ followers: 0, following: 1 });
    expect(await t.db.Follow.countDocuments({ follower: fan.id, followee: star.id })).toBe(1);

    expect((await t.api.delete(`/api/users/${star.id}/follow`).set(fan.auth)).status).toBe(204);
    expect((await t.api.delete(`/api/users/${star.id}/follow`).set(fan.auth)).status).toBe(204);
    expect(await counts(star.id)).toEqual({ followers: 0, following: 0 });
  });

  it('following yourself is 422 cannot-follow-self', async () => {
    const me = await aUser(t.api);
    const res = await t.api.put(`/api/users/${me.id}/follow`).set(me.auth);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('cannot-follow-self');
    expect(await t.db.Follow.countDocuments({ follower: me.id })).toBe(0);
  });

  it('an unknown user is 404, no token is 401', async () => {
    const me = await aUser(t.api);
    expect(
      (await t.api.put('/api/users/0123456789abcdef01234567/follow').set(me.auth)).status,
    ).toBe(404);
    expect((await t.api.put(`/api/users/${me.id}/follow`)).status).toBe(401);
  });

  it('concurrent follows and unfollows of the same pair never leave duplicates or wrong counts', async () => {
    const fan = await aUser(t.api);
    const star = await aUser(t.api);
    const follow = () => t.api.put(`/api/users/${star.id}/follow`).set(fan.auth);
    const unfollow = () => t.api.delete(`/api/users/${star.id}/follow`).set(fan.auth);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 3 === 2 ? unfollow() : follow())),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(204));
    const edges = await t.db.Follow.countDocuments({ follower: fan.id, followee: star.id });
    expect(edges).toBeLessThanOrEqual(1);
    expect(await counts(star.id)).toEqual({ followers: edges, following: 0 });
    const again = await Promise.all(Array.from({ length: 10 }, follow));
    expect(again.map((r) => r.status)).toEqual(Array(10).fill(204));
    expect(await t.db.Follow.countDocuments({ follower: fan.id, followee: star.id })).toBe(1);
    expect((await counts(star.id)).followers).toBe(1);
  });
});

describe('GET /api/users/:id/followers and /following', () => {
  it('list the other side with usernames, most recent first, with a cursor', async () => {
    const star = await aUser(t.api);
    const fans = [];
    for (let i = 0; i < 5; i += 1) {
      const fan = await aUser(t.api);
      await t.api.put(`/api/users/${star.id}/follow`).set(fan.auth);
      fans.push(fan);
    }
    const first = await t.api.get(`/api/users/${star.id}/followers?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((f: { id: string }) => f.id)).toEqual([
      fans[4]?.id,
      fans[3]?.id,
      fans[2]?.id,
    ]);
    expect(first.body.items[0]).toMatchObject({
      username: fans[4]?.username,
      since: expect.any(String),
    });
    const rest = await t.api.get(
      `/api/users/${star.id}/followers?limit=3&cursor=${first.body.nextCursor}`,
    );
    expect(rest.body.items.map((f: { id: string }) => f.id)).toEqual([fans[1]?.id, fans[0]?.id]);
    expect(rest.body.nextCursor).toBeNull();

    const following = await t.api.get(`/api/users/${fans[0]?.id}/following`);
    expect(following.body.items).toEqual([
      { id: star.id, username: star.username, since: expect.any(String) },
    ]);
  });

  it('for an unknown user, is 404; a bad cursor is 400', async () => {
    expect((await t.api.get('/api/users/0123456789abcdef01234567/followers')).status).toBe(404);
    const me = await aUser(t.api);
    expect((await t.api.get(`/api/users/${me.id}/following?cursor=nope`)).status).toBe(400);
  });
});

describe('deleting a user', () => {
  it('removes its follows in both directions and keeps tag counts right', async () => {
    const leaving = await aUser(t.api);
    const friend = await aUser(t.api);
    await t.api.put(`/api/users/${friend.id}/follow`).set(leaving.auth);
    await t.api.put(`/api/users/${leaving.id}/follow`).set(friend.auth);
    await aPost(t.api, leaving, { body: 'bye', tags: ['farewell', 'shared-tag'] });
    await aPost(t.api, friend, { body: 'hi', tags: ['shared-tag'] });

    expect((await t.api.delete(`/api/users/${leaving.id}`).set(leaving.auth)).status).toBe(204);
    expect(
      await t.db.Follow.countDocuments({
        $or: [{ follower: leaving.id }, { followee: leaving.id }],
      }),
    ).toBe(0);
    expect(await counts(friend.id)).toEqual({ followers: 0, following: 0 });
    const tags = Object.fromEntries(
      (await t.db.Tag.find({}).lean()).map((tag) => [tag.name, tag.postCount]),
    );
    expect(tags).toMatchObject({ farewell: 0, 'shared-tag': 1 });
    expect(
      (await t.api.get('/api/tags')).body.items.map((x: { name: string }) => x.name),
    ).not.toContain('farewell');
  });
});
