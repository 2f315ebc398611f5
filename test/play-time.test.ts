import { describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aUser } from './helpers/builders.ts';

// The tutorial's "play time" session, replayed through the API.
describe('the tutorial play time, through the API', () => {
  const t = useTestApp('play_time');

  it('registers john and susan, posts, lists and deletes everything', async () => {
    const john = await aUser(t.api, { username: 'john', email: 'john@email.com' });
    const susan = await aUser(t.api, { username: 'susan', email: 'susan@email.com' });

    const users = await t.api.get('/api/users');
    expect(users.status).toBe(200);
    expect(users.body.items.map((u: { username: string }) => u.username)).toEqual([
      'john',
      'susan',
    ]);

    const byId = await t.api.get(`/api/users/${john.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: john.id, username: 'john', postCount: 0 });

    const post = await t.api.post('/api/posts').set(john.auth).send({ body: 'my first post!' });
    expect(post.status).toBe(201);

    const johnsPosts = await t.api.get(`/api/users/${john.id}/posts`);
    expect(johnsPosts.body.items).toHaveLength(1);
    expect(johnsPosts.body.items[0]).toMatchObject({
      body: 'my first post!',
      author: { id: john.id, username: 'john' },
    });

    const susansPosts = await t.api.get(`/api/users/${susan.id}/posts`);
    expect(susansPosts.status).toBe(200);
    expect(susansPosts.body).toEqual({ items: [], nextCursor: null });

    const reversed = await t.api.get('/api/users?sort=-username');
    expect(reversed.body.items.map((u: { username: string }) => u.username)).toEqual([
      'susan',
      'john',
    ]);

    expect((await t.api.delete(`/api/users/${john.id}`).set(john.auth)).status).toBe(204);
    expect((await t.api.delete(`/api/users/${susan.id}`).set(susan.auth)).status).toBe(204);
    expect((await t.api.get('/api/users')).body.items).toEqual([]);
    expect((await t.api.get('/api/posts')).body.items).toEqual([]);
  });
});
