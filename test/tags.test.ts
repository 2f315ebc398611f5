import { trusted } from 'mongoose';
import { describe, expect, inject, it, vi } from 'vitest';
import { repairTagCounts } from '../src/tags/service.ts';
import { startTestApp, type TestApp, useTestApp } from './helpers/app.ts';
import { aPost, aUser, type TestUser } from './helpers/builders.ts';
import { runTs, unstamped } from './helpers/process.ts';

const t = useTestApp('tags');

/** postCount of each tag as stored, next to the count recomputed from the posts. */
async function storedAndActual(names: string[]) {
  const stored = Object.fromEntries(
    (await t.db.Tag.find({ name: trusted({ $in: names }) }).lean()).map((tag) => [
      tag.name,
      tag.postCount,
    ]),
  );
  const actual = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await t.db.Post.countDocuments({ tags: n })])),
  );
  return { stored, actual };
}

describe('tags on posts', () => {
  it('normalizes tag names: lower-case, trimmed, without duplicates', async () => {
    const user = await aUser(t.api);
    const post = await aPost(t.api, user, {
      body: 'tagged',
      tags: ['MongoDB', ' mongodb ', 'Flask', 'sql-vs-docs'],
    });
    expect(post.tags).toEqual(['mongodb', 'flask', 'sql-vs-docs']);
    expect((await t.api.get(`/api/posts/${post.id}`)).body.tags).toEqual([
      'mongodb',
      'flask',
      'sql-vs-docs',
    ]);
  });

  it('when there are more than 10 tags or a tag is malformed, returns 400 and stores nothing', async () => {
    const user = await aUser(t.api);
    const before = await t.db.Post.countDocuments();
    const tooMany = Array.from({ length: 11 }, (_, i) => `t${i}`);
    expect(
      (await t.api.post('/api/posts').set(user.auth).send({ body: 'x', tags: tooMany })).status,
    ).toBe(400);
    for (const bad of ['', 'has space', '$where', 'a.b', 'x'.repeat(33)]) {
      const res = await t.api
        .post('/api/posts')
        .set(user.auth)
        .send({ body: 'x', tags: [bad] });
      expect(res.status, bad).toBe(400);
    }
    expect(await t.db.Post.countDocuments()).toBe(before);
  });

  it('keeps postCount right through create, edit and delete', async () => {
    const user = await aUser(t.api);
    const a = await aPost(t.api, user, { body: 'tagged', tags: ['life-a', 'life-b'] });
    await aPost(t.api, user, { body: 'tagged', tags: ['life-b'] });
    expect((await storedAndActual(['life-a', 'life-b'])).stored).toEqual({
      'life-a': 1,
      'life-b': 2,
    });

    const edit = await t.api
      .patch(`/api/posts/${a.id}`)
      .set(user.auth)
      .send({ tags: ['life-b', 'life-c'] });
    expect(edit.status).toBe(200);
    expect(edit.body.tags).toEqual(['life-b', 'life-c']);
    let counts = await storedAndActual(['life-a', 'life-b', 'life-c']);
    expect(counts.stored).toEqual({ 'life-a': 0, 'life-b': 2, 'life-c': 1 });
    expect(counts.stored).toEqual(counts.actual);

    expect(
      (await t.api.patch(`/api/posts/${a.id}`).set(user.auth).send({ body: 'body only' })).body
        .tags,
    ).toEqual(['life-b', 'life-c']);
    expect((await t.api.delete(`/api/posts/${a.id}`).set(user.auth)).status).toBe(204);
    counts = await storedAndActual(['life-a', 'life-b', 'life-c']);
    expect(counts.stored).toEqual({ 'life-a': 0, 'life-b': 1, 'life-c': 0 });
    expect(counts.stored).toEqual(counts.actual);
  });

  it('counts never drift under concurrent creates, edits and deletes; every response is right', async () => {
    const users = await Promise.all([aUser(t.api), aUser(t.api), aUser(t.api)]);
    const names = ['race-a', 'race-b', 'race-c', 'race-d'];
    const pick = (i: number) => names.filter((_, j) => (i >> j) & 1);
    const posts = await Promise.all(
      users.map((u, i) => aPost(t.api, u, { body: 'tagged', tags: pick(i + 3) })),
    );
    // No post write runs in a transaction because of its counters, so none can collide (409):
    // every write succeeds, on every engine.
    const responses = await Promise.all(
      Array.from({ length: 36 }, async (_, i) => {
        const user = users[i % 3] as TestUser;
        const post = posts[i % 3] as { id: string };
        if (i % 4 === 0) {
          const tags = pick(i % 16);
          const res = await t.api.post('/api/posts').set(user.auth).send({ body: 'new', tags });
          return { res, expected: 201, tags };
        }
        const tags = pick((i * 7) % 16);
        const res = await t.api.patch(`/api/posts/${post.id}`).set(user.auth).send({ tags });
        return { res, expected: 200, tags };
      }),
    );
    for (const { res, expected, tags } of responses) {
      expect(res.status, JSON.stringify(res.body)).toBe(expected);
      expect(res.body.tags).toEqual(tags);
    }
    const deleted = await t.api
      .delete(`/api/posts/${posts[0]?.id}`)
      .set((users[0] as TestUser).auth);
    expect(deleted.status).toBe(204);
    const { stored, actual } = await storedAndActual(names);
    for (const name of names) expect(stored[name] ?? 0, name).toBe(actual[name]);
  });
});

describe('GET /api/tags', () => {
  it('lists tags in use, most used first, with a cursor, hiding tags no post carries', async () => {
    const local = await startTestApp('tags_list');
    try {
      const user = await aUser(local.api);
      const post = async (tags: string[]) =>
        expect(
          (await local.api.post('/api/posts').set(user.auth).send({ body: 'x', tags })).status,
        ).toBe(201);
      await post(['alpha', 'beta', 'gamma']);
      await post(['beta', 'gamma']);
      await post(['gamma']);
      const gone = await local.api
        .post('/api/posts')
        .set(user.auth)
        .send({ body: 'x', tags: ['ghost'] });
      await local.api.delete(`/api/posts/${gone.body.id}`).set(user.auth);

      const first = await local.api.get('/api/tags?limit=2');
      expect(first.body.items).toEqual([
        { name: 'gamma', postCount: 3 },
        { name: 'beta', postCount: 2 },
      ]);
      const second = await local.api.get(`/api/tags?limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body).toEqual({ items: [{ name: 'alpha', postCount: 1 }], nextCursor: null });
    } finally {
      await local.close();
    }
  });
});

describe('GET /api/tags?sort=name while counts change', () => {
  /** Every page of /api/tags with `query`, as the names in the order met; checks each answer. */
  async function enumerate(local: TestApp, query: string, from?: string): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | null = from ?? null;
    for (let page = 0; page < 100; page++) {
      const res = await local.api.get(`/api/tags?${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, res.text).toBe(200);
      names.push(...res.body.items.map((tag: { name: string }) => tag.name));
      cursor = res.body.nextCursor;
      if (!cursor) return names;
    }
    throw new Error('more than 100 pages');
  }

  it('meets every tag exactly once, in name order, on every one of 12 walks while other requests move the counts; most used first meets each tag whose count holds still exactly once', async () => {
    const local = await startTestApp('tags_by_name');
    try {
      const user = await aUser(local.api);
      const moving = Array.from({ length: 10 }, (_, i) => `move-${String(i).padStart(2, '0')}`);
      const still = ['hold-a', 'hold-b', 'hold-c'];
      const all = [...moving, ...still].sort();
      for (const [i, name] of all.entries()) {
        const tags = i % 2 === 0 ? [name] : [name, all[(i + 1) % all.length] as string];
        expect(
          (await local.api.post('/api/posts').set(user.auth).send({ body: 'x', tags })).status,
        ).toBe(201);
      }
      // Counts of the moving tags jump around (up and down, always at least 1) while the walks
      // run; written to the counters directly so the test does not depend on how posts move them.
      let walking = true;
      let moves = 0;
      const mover = (async () => {
        for (let i = 0; walking && i < 5000; i++) {
          const name = moving[i % moving.length] as string;
          await local.db.Tag.updateOne({ name }, { $set: { postCount: 1 + ((i * 7919) % 50) } });
          moves += 1;
        }
      })();
      try {
        for (let walk = 0; walk < 12; walk++) {
          const byName = await enumerate(local, 'sort=name&limit=2');
          expect([walk, byName]).toEqual([walk, all]);
          const byCount = await enumerate(local, 'limit=2');
          for (const name of still) {
            expect([walk, name, byCount.filter((n) => n === name).length]).toEqual([walk, name, 1]);
          }
        }
      } finally {
        walking = false;
        await mover;
      }
      expect(moves).toBeGreaterThan(12);
    } finally {
      await local.close();
    }
  });

  it('a tag created or emptied during the walk is met at most once, and the others exactly once', async () => {
    const local = await startTestApp('tags_by_name_churn');
    try {
      const user = await aUser(local.api);
      const kept = ['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f'];
      for (const name of kept) {
        expect(
          (
            await local.api
              .post('/api/posts')
              .set(user.auth)
              .send({ body: 'x', tags: [name] })
          ).status,
        ).toBe(201);
      }
      for (let walk = 0; walk < 10; walk++) {
        const churn = [`c-${walk}`, `k-c${walk}`];
        const created = await local.api
          .post('/api/posts')
          .set(user.auth)
          .send({ body: 'y', tags: churn });
        expect(created.status).toBe(201);
        const first = await local.api.get('/api/tags?sort=name&limit=3');
        expect(first.status).toBe(200);
        expect(
          (await local.api.delete(`/api/posts/${created.body.id}`).set(user.auth)).status,
        ).toBe(204);
        const rest = await enumerate(local, 'sort=name&limit=3', first.body.nextCursor);
        const met = [...first.body.items.map((tag: { name: string }) => tag.name), ...rest];
        expect(new Set(met).size, met.join()).toBe(met.length);
        expect(met.filter((n) => kept.includes(n))).toEqual(kept);
      }
    } finally {
      await local.close();
    }
  });
});

describe('GET /api/tags/:name/posts', () => {
  it("lists a tag's posts newest first with their authors; an unknown tag has none", async () => {
    const a = await aUser(t.api);
    const b = await aUser(t.api);
    await aPost(t.api, a, { body: 'first', tags: ['by-tag'] });
    await aPost(t.api, b, { body: 'second', tags: ['by-tag', 'other'] });
    await aPost(t.api, a, { body: 'not this one', tags: ['other'] });
    const res = await t.api.get('/api/tags/BY-TAG/posts');
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { body: string }) => p.body)).toEqual(['second', 'first']);
    expect(res.body.items[0].author).toEqual({ id: b.id, username: b.username });
    expect((await t.api.get('/api/tags/nothing-here/posts')).body).toEqual({
      items: [],
      nextCursor: null,
    });
    expect((await t.api.get('/api/tags/bad%20name/posts')).status).toBe(400);
  });
});

describe('repairTagCounts', () => {
  it('recomputes drifted counts from the posts', async () => {
    const user = await aUser(t.api);
    await aPost(t.api, user, { body: 'tagged', tags: ['fix-a', 'fix-b'] });
    await aPost(t.api, user, { body: 'tagged', tags: ['fix-a'] });
    // The drift a crash between a post write and its counter update leaves without transactions.
    await t.db.Tag.updateOne({ name: 'fix-a' }, { $set: { postCount: 7 } });
    await t.db.Tag.deleteOne({ name: 'fix-b' });
    await t.db.Tag.create({ name: 'fix-orphan', postCount: 4 });
    const result = await repairTagCounts(t.db);
    expect(result.fixed).toBeGreaterThanOrEqual(3);
    const { stored } = await storedAndActual(['fix-a', 'fix-b', 'fix-orphan']);
    expect(stored).toEqual({ 'fix-a': 2, 'fix-b': 1, 'fix-orphan': 0 });
    expect((await repairTagCounts(t.db)).fixed).toBe(0);
  });
});

describe('large counter updates', () => {
  it('repair fixes more drifted tags than one write command may carry', async () => {
    const names = Array.from({ length: 160 }, (_, i) => `bulk-orphan-${i}`);
    await t.db.Tag.insertMany(names.map((name) => ({ name, postCount: 3 })));
    await repairTagCounts(t.db);
    expect(await t.db.Tag.countDocuments({ name: trusted({ $in: names }), postCount: 0 })).toBe(
      160,
    );
  });

  it("deleting a user whose posts carry 160 distinct tags moves every tag's count", async () => {
    const user = await aUser(t.api);
    for (let i = 0; i < 16; i += 1) {
      await aPost(t.api, user, {
        body: 'tagged',
        tags: Array.from({ length: 10 }, (_, j) => `many-${i}-${j}`),
      });
    }
    expect((await t.api.delete(`/api/users/${user.id}`).set(user.auth)).status).toBe(204);
    expect(await t.db.Tag.countDocuments({ name: /^many-/, postCount: trusted({ $ne: 0 }) })).toBe(
      0,
    );
  });
});

describe('counts that drifted', () => {
  it('left below zero by a decrement, are hidden from the list and recounted; a tag a post carries is listed again', async () => {
    const user = await aUser(t.api);
    const post = await aPost(t.api, user, { body: 'tagged', tags: ['sunk'] });
    // The drift an engine that loses concurrent updates (or a crash) leaves: stored below the truth.
    await t.db.Tag.updateOne({ name: 'sunk' }, { $set: { postCount: 0 } });
    expect((await t.api.delete(`/api/posts/${post.id}`).set(user.auth)).status).toBe(204);
    const afterDelete = (await t.api.get('/api/tags?limit=100')).body.items;
    expect(afterDelete.map((tag: { name: string }) => tag.name)).not.toContain('sunk');
    await vi.waitFor(
      async () => expect((await t.db.Tag.findOne({ name: 'sunk' }).lean())?.postCount).toBe(0),
      { timeout: 15_000, interval: 100 },
    );
    await t.db.Tag.updateOne({ name: 'sunk' }, { $set: { postCount: -5 } });
    await aPost(t.api, user, { body: 'tagged', tags: ['sunk'] });
    await aPost(t.api, user, { body: 'tagged', tags: ['sunk'] });
    const other = await aPost(t.api, user, { body: 'tagged', tags: ['sunk'] });
    // The decrement that leaves the count below zero records the tag; the reconciler recounts it.
    expect((await t.api.delete(`/api/posts/${other.id}`).set(user.auth)).status).toBe(204);
    await vi.waitFor(
      async () => expect((await t.db.Tag.findOne({ name: 'sunk' }).lean())?.postCount).toBe(2),
      { timeout: 15_000, interval: 100 },
    );
    const listed = await t.api.get('/api/tags?limit=100');
    expect(listed.body.items).toContainEqual({ name: 'sunk', postCount: 2 });
  });
});

describe('npm run tags:repair', () => {
  it('--check reports drift with exit 3 and changes nothing; exit 0 when there is none', async () => {
    const local = await startTestApp('tags_check');
    try {
      const user = await aUser(local.api);
      await aPost(local.api, user, { body: 'x', tags: ['watched'] });
      const run = () =>
        runTs('scripts/repair-tag-counts.ts', ['--check'], {
          env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: local.db.connection.name },
        });
      const clean = await run();
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stdout).toMatch(/no drift/);
      await local.db.Tag.updateOne({ name: 'watched' }, { $set: { postCount: 9 } });
      const drifted = await run();
      expect(drifted.code).toBe(3);
      expect(drifted.stdout).toMatch(/watched: stored 9, actual 1/);
      expect(drifted.stderr).toMatch(/1 count\(s\) drifted/);
      expect((await local.db.Tag.findOne({ name: 'watched' }).lean())?.postCount).toBe(9);
    } finally {
      await local.close();
    }
  });

  it('repairs the database named by MONGODB_URI/MONGODB_DB and says how many counts it fixed', async () => {
    const user = await aUser(t.api);
    await aPost(t.api, user, { body: 'tagged', tags: ['cli-fix'] });
    await t.db.Tag.updateOne({ name: 'cli-fix' }, { $set: { postCount: 42 } });
    const run = await runTs('scripts/repair-tag-counts.ts', [], {
      env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: t.db.connection.name },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 count\(s\) corrected/);
    expect((await t.db.Tag.findOne({ name: 'cli-fix' }).lean())?.postCount).toBe(1);
  });

  it('with an invalid MONGODB_URI, exits 1 with one line naming it', async () => {
    const run = await runTs('scripts/repair-tag-counts.ts', [], {
      env: { MONGODB_URI: 'http://not-mongodb' },
    });
    expect(run.code).toBe(1);
    expect(unstamped(run.stderr).trim().split('\n')).toEqual([
      'tags:repair: Invalid configuration: MONGODB_URI must be a mongodb:// or mongodb+srv:// URI (exit 1)',
    ]);
  });
});
