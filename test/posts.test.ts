import { describe, expect, it } from 'vitest';
import { startTestApp, useTestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';

const t = useTestApp('posts');

describe('POST /api/posts', () => {
  it('publishes a post with its author and a UTC timestamp', async () => {
    const author = await aUser(t.api);
    const before = Date.now();
    const res = await t.api.post('/api/posts').set(author.auth).send({ body: '  hello world  ' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      body: 'hello world',
      author: { id: author.id, username: author.username },
    });
    expect(res.body.timestamp).toMatch(/Z$/);
    expect(Date.parse(res.body.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    const stored = await t.db.Post.findById(res.body.id).lean();
    expect(String(stored?.author)).toBe(author.id);
  });

  it('without a token, returns 401 and stores nothing', async () => {
    const before = await t.db.Post.countDocuments();
    const res = await t.api.post('/api/posts').send({ body: 'anonymous' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
    expect(await t.db.Post.countDocuments()).toBe(before);
  });

  it('when the body is empty or longer than 140 characters, returns 400', async () => {
    const author = await aUser(t.api);
    for (const body of ['', '   ', 'x'.repeat(141)]) {
      const res = await t.api.post('/api/posts').set(author.auth).send({ body });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe('body.body');
    }
    expect(
      (
        await t.api
          .post('/api/posts')
          .set(author.auth)
          .send({ body: 'x'.repeat(140) })
      ).status,
    ).toBe(201);
  });

  it('when the client tries to set the author, returns 400', async () => {
    const author = await aUser(t.api);
    const victim = await aUser(t.api);
    const res = await t.api
      .post('/api/posts')
      .set(author.auth)
      .send({ body: 'x', author: victim.id });
    expect(res.status).toBe(400);
  });
});

describe('GET /api/posts/:id', () => {
  it('returns the post with its author through populate', async () => {
    const author = await aUser(t.api);
    const post = await aPost(t.api, author, { body: 'populated' });
    const res = await t.api.get(`/api/posts/${post.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: post.id,
      body: 'populated',
      timestamp: post.timestamp,
      tags: [],
      author: { id: author.id, username: author.username },
    });
  });

  it('after the author renames itself, shows the new username', async () => {
    const author = await aUser(t.api);
    const post = await aPost(t.api, author);
    await t.api
      .patch(`/api/users/${author.id}`)
      .set(author.auth)
      .send({ username: `${author.username}_new` });
    const res = await t.api.get(`/api/posts/${post.id}`);
    expect(res.body.author.username).toBe(`${author.username}_new`);
  });

  it('when the id is malformed, returns 400 invalid input; when unknown, 404 post-not-found', async () => {
    const malformed = await t.api.get('/api/posts/123');
    expect(malformed.status).toBe(400);
    const unknown = await t.api.get('/api/posts/0123456789abcdef01234567');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('post-not-found');
  });
});

describe('PATCH and DELETE /api/posts/:id', () => {
  it('lets the author edit the post', async () => {
    const author = await aUser(t.api);
    const post = await aPost(t.api, author);
    const res = await t.api
      .patch(`/api/posts/${post.id}`)
      .set(author.auth)
      .send({ body: 'edited' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: post.id, body: 'edited', author: { id: author.id } });
    expect((await t.db.Post.findById(post.id).lean())?.body).toBe('edited');
  });

  it('refuses anyone else with 403 and changes nothing', async () => {
    const author = await aUser(t.api);
    const other = await aUser(t.api);
    const post = await aPost(t.api, author, { body: 'original' });
    const edit = await t.api
      .patch(`/api/posts/${post.id}`)
      .set(other.auth)
      .send({ body: 'defaced' });
    expect(edit.status).toBe(403);
    const del = await t.api.delete(`/api/posts/${post.id}`).set(other.auth);
    expect(del.status).toBe(403);
    expect((await t.db.Post.findById(post.id).lean())?.body).toBe('original');
  });

  it('lets the author delete the post; a second delete is 404', async () => {
    const author = await aUser(t.api);
    const post = await aPost(t.api, author);
    expect((await t.api.delete(`/api/posts/${post.id}`).set(author.auth)).status).toBe(204);
    expect(await t.db.Post.exists({ _id: post.id })).toBeNull();
    const again = await t.api.delete(`/api/posts/${post.id}`).set(author.auth);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('post-not-found');
  });
});

describe('GET /api/posts filters', () => {
  it('filters by author and by a since/until window, newest first', async () => {
    const local = await startTestApp('posts_filters');
    try {
      const a = await aUser(local.api);
      const b = await aUser(local.api);
      const day = (d: number) => new Date(Date.UTC(2024, 0, d));
      await local.db.Post.insertMany([
        { body: 'a1', author: a.id, timestamp: day(1) },
        { body: 'b2', author: b.id, timestamp: day(2) },
        { body: 'a3', author: a.id, timestamp: day(3) },
        { body: 'a4', author: a.id, timestamp: day(4) },
      ]);
      const byA = await local.api.get(`/api/posts?author=${a.id}`);
      expect(byA.body.items.map((p: { body: string }) => p.body)).toEqual(['a4', 'a3', 'a1']);
      expect(byA.body.items[0].author).toEqual({ id: a.id, username: a.username });
      const window = await local.api.get(
        `/api/posts?since=${day(2).toISOString()}&until=${day(4).toISOString()}`,
      );
      expect(window.body.items.map((p: { body: string }) => p.body)).toEqual(['a3', 'b2']);
      const both = await local.api.get(`/api/posts?author=${a.id}&since=${day(2).toISOString()}`);
      expect(both.body.items.map((p: { body: string }) => p.body)).toEqual(['a4', 'a3']);
    } finally {
      await local.close();
    }
  });

  it('every combination of author, since and until answers its documented window, newest first', async () => {
    const local = await startTestApp('posts_filter_combinations');
    try {
      const a = await aUser(local.api);
      const b = await aUser(local.api);
      const at = (ms: number) => new Date(Date.UTC(2024, 0, 1) + ms);
      await local.db.Post.insertMany([
        { body: 'a0', author: a.id, timestamp: at(0) },
        { body: 'b1', author: b.id, timestamp: at(1) },
        { body: 'a2', author: a.id, timestamp: at(2) },
        { body: 'b3', author: b.id, timestamp: at(3) },
      ]);
      const posts = [
        { body: 'a0', author: a.id, ms: 0 },
        { body: 'b1', author: b.id, ms: 1 },
        { body: 'a2', author: a.id, ms: 2 },
        { body: 'b3', author: b.id, ms: 3 },
      ];
      const bodies = async (query: string) => {
        const res = await local.api.get(`/api/posts?${query}`);
        expect(res.status, `${query}: ${res.text}`).toBe(200);
        return res.body.items.map((p: { body: string }) => p.body);
      };
      for (const author of [undefined, a.id, b.id]) {
        for (const since of [undefined, 0, 1, 2, 4]) {
          for (const until of [undefined, 0, 1, 3, 4]) {
            const query = [
              author && `author=${author}`,
              since !== undefined && `since=${at(since).toISOString()}`,
              until !== undefined && `until=${at(until).toISOString()}`,
            ]
              .filter(Boolean)
              .join('&');
            const expected = posts
              .filter(
                (p) =>
                  (!author || p.author === author) &&
                  (since === undefined || p.ms >= since) &&
                  (until === undefined || p.ms < until),
              )
              .map((p) => p.body)
              .reverse();
            expect([query, await bodies(query)]).toEqual([query, expected]);
          }
        }
      }
      // Finer than a millisecond: at or after 1.0004 ms is from 2 ms on; before 2.0004 ms is up to 2.
      expect(await bodies('since=2024-01-01T00:00:00.0010004Z')).toEqual(['b3', 'a2']);
      expect(await bodies('until=2024-01-01T00:00:00.0020004Z')).toEqual(['a2', 'b1', 'a0']);
    } finally {
      await local.close();
    }
  });

  it('since equal to or after until (the same instant however written, or by a nanosecond) is an empty page, not an error', async () => {
    const pairs: Array<[string, string]> = [
      ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z'],
      ['2024-01-01T00:00:00Z', '2024-01-01T01:00:00+01:00'],
      ['2024-01-01T00:00:00.000000001Z', '2024-01-01t00:00:00.000000001z'],
      ['2024-02-01T00:00:00Z', '2024-01-01T00:00:00Z'],
      ['2024-01-01T00:00:00.000000002Z', '2024-01-01T00:00:00.000000001Z'],
    ];
    for (const [since, until] of pairs) {
      const res = await t.api.get(
        `/api/posts?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`,
      );
      expect([since, until, res.status, res.body.items, res.body.nextCursor]).toEqual([
        since,
        until,
        200,
        [],
        null,
      ]);
    }
  });

  it('when a filter is malformed or no such instant, returns 400 naming it', async () => {
    expect((await t.api.get('/api/posts?author=nope')).status).toBe(400);
    for (const since of [
      'yesterday',
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-01-01T00:00Z',
      '2024-01-01T00:00:60Z',
      '2024-01-01 00:00:00Z',
      '2024-01-01T00:00:00.0000000001Z',
      '2024-01-01T00:00:00+24:00',
    ]) {
      const res = await t.api.get(`/api/posts?since=${encodeURIComponent(since)}`);
      expect([since, res.status, res.body.error?.details?.[0]?.path]).toEqual([
        since,
        400,
        'query.since',
      ]);
    }
  });
});
