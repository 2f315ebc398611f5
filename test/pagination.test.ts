import { Types } from 'mongoose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aUser, type TestUser } from './helpers/builders.ts';

const t = useTestApp('pagination');
let author: TestUser;
const TOTAL = 45;
beforeAll(async () => {
  author = await aUser(t.api);
  // Several posts share a timestamp, so the _id tie-breaker is exercised.
  const base = Date.UTC(2024, 5, 1);
  await t.db.Post.insertMany(
    Array.from({ length: TOTAL }, (_, i) => ({
      body: `post ${i}`,
      author: author.id,
      timestamp: new Date(base + Math.floor(i / 3) * 60_000),
    })),
  );
});

async function walk(path: string, limit: number) {
  const seen: { id: string; timestamp: string }[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const url: string = `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await t.api.get(url);
    expect(res.status).toBe(200);
    seen.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages += 1;
  } while (cursor && pages < 100);
  return { seen, pages };
}

describe('cursor pagination of posts', () => {
  it.each(['/api/posts', `/api/users/:author/posts`])(
    '%s visits every post exactly once, newest first, in ceil(N/limit) pages',
    async (template) => {
      const { seen, pages } = await walk(template.replace(':author', author.id), 7);
      expect(seen).toHaveLength(TOTAL);
      expect(new Set(seen.map((p) => p.id)).size).toBe(TOTAL);
      expect(pages).toBe(Math.ceil(TOTAL / 7));
      const order = seen.map((p) => [Date.parse(p.timestamp), p.id] as const);
      const sorted = [...order].sort((x, y) => y[0] - x[0] || (x[1] < y[1] ? 1 : -1));
      expect(order).toEqual(sorted);
    },
  );

  it('defaults to 20 items per page and caps limit at 100', async () => {
    const res = await t.api.get('/api/posts');
    expect(res.body.items).toHaveLength(20);
    expect(typeof res.body.nextCursor).toBe('string');
    expect((await t.api.get('/api/posts?limit=100')).body.items).toHaveLength(TOTAL);
    expect((await t.api.get('/api/posts?limit=1000')).status).toBe(400);
  });

  it('a post inserted while paging does not shift later pages', async () => {
    const first = await t.api.get('/api/posts?limit=10');
    await t.db.Post.create({ body: 'late', author: author.id, timestamp: new Date() });
    const second = await t.api.get(`/api/posts?limit=10&cursor=${first.body.nextCursor}`);
    const firstIds = new Set(first.body.items.map((p: { id: string }) => p.id));
    expect(second.body.items.some((p: { id: string }) => firstIds.has(p.id))).toBe(false);
    expect(second.body.items.some((p: { body: string }) => p.body === 'late')).toBe(false);
    await t.db.Post.deleteOne({ body: 'late' });
  });

  it.each([
    ['not base64 json', 'not-a-cursor!!'],
    ['json of the wrong shape', Buffer.from('{"t":"x"}').toString('base64url')],
    ['a user cursor on posts', Buffer.from('{"u":"alice"}').toString('base64url')],
    ['an operator smuggled in', Buffer.from(`{"t":1,"id":{"$gt":""}}`).toString('base64url')],
  ])('when the cursor is %s, returns 400 invalid-cursor', async (_name, cursor) => {
    const res = await t.api.get(`/api/posts?cursor=${encodeURIComponent(cursor)}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid-cursor');
  });

  it('for an unknown user, GET /api/users/:id/posts is 404', async () => {
    const res = await t.api.get(`/api/users/${new Types.ObjectId().toHexString()}/posts`);
    expect(res.status).toBe(404);
  });
});
