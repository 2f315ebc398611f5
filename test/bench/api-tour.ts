import { expect } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';

/**
 * Calls every endpoint of the API, with second pages (cursors), filters, both sort directions and
 * the error paths that query (not-yours, taken names), so that every query the code can send is
 * sent at least once. The index test records them all.
 */
export async function tourTheApi({ api }: TestApp): Promise<void> {
  const ok = (res: { status: number; body: unknown }, status = 200) =>
    expect(res.status, JSON.stringify(res.body)).toBe(status);
  const me = await aUser(api);
  const friend = await aUser(api);
  const other = await aUser(api);
  const taken = { username: `${me.username}x`, email: me.email, password: me.password };
  ok(await api.post('/api/users').send(taken), 409);
  ok(await api.post('/api/tokens').send({ email: me.email, password: me.password }));

  const postIds: string[] = [];
  for (let i = 0; i < 6; i += 1) {
    for (const user of [me, friend]) {
      const res = await api
        .post('/api/posts')
        .set(user.auth)
        .send({ body: `post ${i}`, tags: ['tour', `t${i % 3}`] });
      ok(res, 201);
      postIds.push(res.body.id);
    }
  }
  const [first, second] = postIds as [string, string];
  ok(
    await api
      .patch(`/api/posts/${first}`)
      .set(me.auth)
      .send({ body: 'edited', tags: ['x'] }),
  );
  ok(await api.patch(`/api/posts/${first}`).set(other.auth).send({ body: 'not mine' }), 403);
  ok(await api.delete(`/api/posts/${second}`).set(friend.auth), 204);
  ok(await api.get(`/api/posts/${first}`));

  const pages = async (path: string, auth: Record<string, string> = {}) => {
    const page = await api.get(`${path}${path.includes('?') ? '&' : '?'}limit=1`).set(auth);
    ok(page);
    expect(page.body.nextCursor, path).toEqual(expect.any(String));
    ok(
      await api
        .get(`${path}${path.includes('?') ? '&' : '?'}limit=1&cursor=${page.body.nextCursor}`)
        .set(auth),
    );
  };
  await pages('/api/posts');
  await pages(`/api/posts?author=${me.id}`);
  await pages('/api/posts?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z');
  await pages(`/api/users/${me.id}/posts`);
  await pages('/api/users?sort=username');
  await pages('/api/users?sort=-username');
  await pages('/api/tags');
  await pages('/api/tags?sort=name');
  await pages('/api/tags/tour/posts');

  ok(await api.put(`/api/users/${friend.id}/follow`).set(me.auth), 204);
  ok(await api.put(`/api/users/${other.id}/follow`).set(me.auth), 204);
  ok(await api.put(`/api/users/${me.id}/follow`).set(friend.auth), 204);
  ok(await api.put(`/api/users/${me.id}/follow`).set(other.auth), 204);
  await pages(`/api/users/${me.id}/followers`);
  await pages(`/api/users/${me.id}/following`);
  await pages('/api/feed', me.auth);
  ok(await api.delete(`/api/users/${other.id}/follow`).set(me.auth), 204);

  ok(await api.get(`/api/users/${me.id}`).set(me.auth));
  ok(await api.get(`/api/users/${me.id}/profile`));
  ok(await api.put(`/api/users/${me.id}/profile`).set(me.auth).send({ aboutMe: 'hi' }));
  ok(await api.patch(`/api/users/${me.id}`).set(me.auth).send({ username: friend.username }), 409);
  ok(
    await api
      .patch(`/api/users/${me.id}`)
      .set(me.auth)
      .send({ username: `${me.username}y` }),
  );
  ok(await api.delete('/api/tokens').set(friend.auth), 204);
  ok(await api.delete(`/api/users/${me.id}`).set(me.auth), 204);
  ok(await api.get('/readyz'));
}
