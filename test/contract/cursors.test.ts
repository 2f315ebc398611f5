import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { aPost, aUser, type TestUser } from '../helpers/builders.ts';

const t = useTestApp('contract_cursors');
let alice: TestUser;
/** Every paginated list, each with a second page, by name. */
let lists: Record<string, { url: string; auth?: Record<string, string> }>;
beforeAll(async () => {
  alice = await aUser(t.api);
  const bob = await aUser(t.api);
  const carol = await aUser(t.api);
  for (const author of [alice, alice, bob]) {
    await aPost(t.api, author, {
      body: 'tagged',
      tags: ['paging', `solo-${author.username.slice(-4)}`],
    });
  }
  await aPost(t.api, carol);
  for (const [follower, followee] of [
    [alice, bob],
    [alice, carol],
    [bob, alice],
    [carol, alice],
  ] as const) {
    expect((await t.api.put(`/api/users/${followee.id}/follow`).set(follower.auth)).status).toBe(
      204,
    );
  }
  lists = {
    posts: { url: '/api/posts' },
    'user posts': { url: `/api/users/${alice.id}/posts` },
    'tag posts': { url: '/api/tags/paging/posts' },
    feed: { url: '/api/feed', auth: alice.auth },
    followers: { url: `/api/users/${alice.id}/followers` },
    following: { url: `/api/users/${alice.id}/following` },
    tags: { url: '/api/tags' },
    'users by name': { url: '/api/users?sort=username' },
    'users by name, descending': { url: '/api/users?sort=-username' },
  };
});

function get(url: string, auth?: Record<string, string>) {
  const request = t.api.get(url);
  return auth ? request.set(auth) : request;
}

function withQuery(url: string, query: string) {
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

async function firstCursor(name: string): Promise<string> {
  const list = lists[name];
  if (!list) throw new Error(name);
  const res = await get(withQuery(list.url, 'limit=1'), list.auth);
  expect(res.status, `${name}: ${res.text}`).toBe(200);
  expect(res.body.nextCursor, name).toEqual(expect.any(String));
  return res.body.nextCursor;
}

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function expectInvalidCursor(url: string, auth?: Record<string, string>) {
  const res = await get(url, auth);
  expect([url, res.status, res.body.error?.code]).toEqual([url, 400, 'invalid-cursor']);
  return res;
}

describe('cursors belong to one list and one sort order', () => {
  it("each list takes its own cursor and refuses every other list's with 400 invalid-cursor", async () => {
    const cursors = Object.fromEntries(
      await Promise.all(Object.keys(lists).map(async (name) => [name, await firstCursor(name)])),
    ) as Record<string, string>;
    for (const [name, list] of Object.entries(lists)) {
      for (const [from, cursor] of Object.entries(cursors)) {
        const url = withQuery(list.url, `limit=1&cursor=${cursor}`);
        if (from === name) {
          const res = await get(url, list.auth);
          expect([name, res.status]).toEqual([name, 200]);
          expect(res.body.items.length, name).toBe(1);
        } else {
          const res = await expectInvalidCursor(url, list.auth);
          expect(res.body.error.message).toMatch(/another list/);
        }
      }
    }
  });
});

describe('a cursor that is not exactly what the API issued', () => {
  it('with characters appended, is 400 invalid-cursor', async () => {
    const cursor = await firstCursor('posts');
    for (const junk of ['A', 'AAAA', 'x!', '==', '%20', '.']) {
      await expectInvalidCursor(`/api/posts?cursor=${cursor}${junk}`);
    }
  });

  it('empty, is 400 invalid-cursor (not the first page)', async () => {
    const res = await expectInvalidCursor('/api/posts?cursor=');
    expect(res.body.error.message).toMatch(/empty/);
  });

  it('holding values out of range or of the wrong type, is 400 invalid-cursor', async () => {
    const id = '665f1c2b9d3e4a0012345678';
    const crafted = [
      { k: 'posts', p: [9e15, id] },
      { k: 'posts', p: [-9e15, id] },
      { k: 'posts', p: [1.5, id] },
      { k: 'posts', p: ['2024-01-01', id] },
      { k: 'posts', p: [1700000000000, id.toUpperCase()] },
      { k: 'posts', p: [1700000000000, `${id}0`] },
      { k: 'posts', p: [1700000000000] },
      { k: 'posts', p: [1700000000000, id, 1] },
      { k: 'posts', p: [1700000000000, { $gt: '' }] },
      { k: 'posts' },
      { p: [1700000000000, id] },
      { t: 1700000000000, id },
    ];
    for (const value of crafted) {
      await expectInvalidCursor(`/api/posts?cursor=${cursorOf(value)}`);
    }
    for (const value of [
      { k: 'tags', p: [-1, 'x'] },
      { k: 'tags', p: [1, ''] },
      { k: 'tags', p: [1, 'x'.repeat(65)] },
    ]) {
      await expectInvalidCursor(`/api/tags?cursor=${cursorOf(value)}`);
    }
    await expectInvalidCursor(`/api/users?cursor=${cursorOf({ k: 'users:username', p: [7] })}`);
  });

  it('too long, or not base64url, is 400 invalid-cursor', async () => {
    await expectInvalidCursor(`/api/posts?cursor=${'A'.repeat(600)}`);
    await expectInvalidCursor('/api/posts?cursor=%FF%FE');
    await expectInvalidCursor('/api/posts?cursor=abc%2Fdef');
  });

  it('a well-formed cursor of the same list, crafted, is taken (control)', async () => {
    const res = await get(
      `/api/posts?cursor=${cursorOf({ k: 'posts', p: [8.64e15, 'f'.repeat(24)] })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
  });
});

describe('limit', () => {
  it.each(['1e1', '0x10', '+5', '5.0', ' 5', '5 ', '', '0', '101', '-1', '1_0', '١'])(
    'limit=%j is 400 validation-failed naming query.limit',
    async (limit) => {
      const res = await get(`/api/posts?limit=${encodeURIComponent(limit)}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'validation-failed',
        details: [{ path: 'query.limit', message: expect.any(String) }],
      });
    },
  );

  it('decimal digits from 1 to 100 are taken', async () => {
    for (const limit of ['1', '007', '100']) {
      expect((await get(`/api/tags?limit=${limit}`)).status).toBe(200);
    }
  });

  it('a repeated query key is 400 with a message that says so', async () => {
    const res = await get('/api/posts?limit=1&limit=2');
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: 'query.limit', message: 'given 2 times; give it once' },
    ]);
    const cursors = await get('/api/posts?cursor=a&cursor=b');
    expect(cursors.body.error.details).toEqual([
      { path: 'query.cursor', message: 'given 2 times; give it once' },
    ]);
  });
});
