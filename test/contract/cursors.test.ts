import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { sealCursor } from '../../src/shared/cursor.ts';
import { useTestApp } from '../helpers/app.ts';
import { aPost, aUser, type TestUser } from '../helpers/builders.ts';

const t = useTestApp('contract_cursors');
let alice: TestUser;
let bob: TestUser;
/**
 * Every paginated list, several with more than one set of parameters (author, tag, reader,
 * followee, filters, sort), each with a second page, by name.
 */
let lists: Record<string, { url: string; auth?: Record<string, string> }>;
beforeAll(async () => {
  alice = await aUser(t.api);
  bob = await aUser(t.api);
  const carol = await aUser(t.api);
  for (const [author, tags] of [
    [alice, ['paging', 'other']],
    [alice, ['paging']],
    [bob, ['paging', 'other']],
    [bob, []],
  ] as const) {
    await aPost(t.api, author, { body: 'tagged', tags: [...tags] });
  }
  await aPost(t.api, carol);
  for (const [follower, followee] of [
    [alice, bob],
    [alice, carol],
    [bob, alice],
    [bob, carol],
    [carol, alice],
    [carol, bob],
  ] as const) {
    expect((await t.api.put(`/api/users/${followee.id}/follow`).set(follower.auth)).status).toBe(
      204,
    );
  }
  lists = {
    posts: { url: '/api/posts' },
    'posts, ?author=alice': { url: `/api/posts?author=${alice.id}` },
    'posts, ?author=bob': { url: `/api/posts?author=${bob.id}` },
    'posts, ?since': { url: '/api/posts?since=2000-01-01T00:00:00Z' },
    'posts, ?until': { url: '/api/posts?until=2100-01-01T00:00:00Z' },
    'posts, ?since&until': {
      url: '/api/posts?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z',
    },
    "alice's posts": { url: `/api/users/${alice.id}/posts` },
    "bob's posts": { url: `/api/users/${bob.id}/posts` },
    'tag paging': { url: '/api/tags/paging/posts' },
    'tag other': { url: '/api/tags/other/posts' },
    "alice's feed": { url: '/api/feed', auth: alice.auth },
    "bob's feed": { url: '/api/feed', auth: bob.auth },
    "alice's followers": { url: `/api/users/${alice.id}/followers` },
    "bob's followers": { url: `/api/users/${bob.id}/followers` },
    'alice following': { url: `/api/users/${alice.id}/following` },
    'bob following': { url: `/api/users/${bob.id}/following` },
    'tags, most used first': { url: '/api/tags' },
    'tags by name': { url: '/api/tags?sort=name' },
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

/** A crafted cursor, sealed as the API seals its own (what a forger cannot do without the key). */
function cursorOf(value: unknown): string {
  return sealCursor(value);
}

async function expectInvalidCursor(url: string, auth?: Record<string, string>) {
  const res = await get(url, auth);
  expect([url, res.status, res.body.error?.code]).toEqual([url, 400, 'invalid-cursor']);
  return res;
}

describe('cursors belong to one list, its parameters and its sort order', () => {
  it("each list takes its own cursor and refuses every other list's or parameters' with 400 invalid-cursor", async () => {
    const names = Object.keys(lists);
    const cursors: Record<string, string> = {};
    for (const name of names) cursors[name] = await firstCursor(name);
    expect(new Set(Object.values(cursors)).size).toBe(names.length);
    const answers: string[] = [];
    for (const [name, list] of Object.entries(lists)) {
      for (const [from, cursor] of Object.entries(cursors)) {
        const res = await get(withQuery(list.url, `limit=1&cursor=${cursor}`), list.auth);
        const expected = from === name ? '200' : '400 invalid-cursor';
        const got = res.status === 200 ? '200' : `${res.status} ${res.body.error?.code}`;
        answers.push(
          `${from} -> ${name}: ${got}${got === expected ? '' : ` (expected ${expected})`}`,
        );
        if (from === name) expect(res.body.items?.length, name).toBe(1);
        else expect(res.body.error?.message, `${from} -> ${name}`).toMatch(/another list/);
      }
    }
    expect(answers.filter((line) => line.includes('expected'))).toEqual([]);
    expect(answers).toHaveLength(names.length ** 2);
  });

  it('the same list and parameters spelled differently take the cursor (an id in upper case, the same instant in another offset)', async () => {
    const byAuthor = await firstCursor('posts, ?author=alice');
    const upper = await get(
      `/api/posts?author=${alice.id.toUpperCase()}&limit=1&cursor=${byAuthor}`,
    );
    expect(upper.status).toBe(200);
    const since = await firstCursor('posts, ?since');
    const offset = await get(
      `/api/posts?since=${encodeURIComponent('2000-01-01T01:00:00+01:00')}&limit=1&cursor=${since}`,
    );
    expect(offset.status).toBe(200);
    const tag = await firstCursor('tag paging');
    expect((await get(`/api/tags/PAGING/posts?limit=1&cursor=${tag}`)).status).toBe(200);
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
      { k: 'tags', p: [1, 'a\u0000b'] },
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

  it('a well-formed cursor of the same list, crafted and sealed with the key, is taken (control)', async () => {
    const res = await get(
      `/api/posts?cursor=${cursorOf({ k: 'posts', p: [8.64e15, 'f'.repeat(24)] })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
  });
});

describe('a cursor the API did not issue as it is', () => {
  it('with any one bit altered (each bit of each byte), is 400 invalid-cursor', async () => {
    const real = await firstCursor('tags, most used first');
    const bytes = Buffer.from(real, 'base64url');
    const urls: string[] = [];
    for (let i = 0; i < bytes.length; i += 1) {
      for (let bit = 1; bit < 0x100; bit <<= 1) {
        const altered = Buffer.from(bytes);
        altered[i] = (altered[i] as number) ^ bit;
        urls.push(`/api/tags?limit=1&cursor=${altered.toString('base64url')}`);
      }
    }
    expect(urls.length).toBeGreaterThan(100);
    for (const url of urls) await expectInvalidCursor(url);
  });

  it('unsealed, sealed with another key, oversized or carrying NUL, is 400 invalid-cursor', async () => {
    const unsealed = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const otherKey = (value: unknown) => {
      const content = Buffer.from(JSON.stringify(value));
      const mac = createHmac('sha256', 'another key').update(content).digest().subarray(0, 12);
      return Buffer.concat([mac, content]).toString('base64url');
    };
    const position = { k: 'tags', p: [1, 'x'] };
    for (const cursor of [
      unsealed(position),
      otherKey(position),
      unsealed({ k: 'users:username', p: ['u'.repeat(64)] }),
      unsealed({ k: 'tags', p: [1, 'a\u0000b'] }),
      cursorOf({ k: 'tags', p: [1, 'x'.repeat(300)] }),
    ]) {
      await expectInvalidCursor(`/api/tags?cursor=${cursor}`);
    }
    expect((await get(`/api/tags?cursor=${cursorOf(position)}`)).status).toBe(200); // control
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
