import { describe, expect, inject, it, vi } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aPost, aUser, type TestUser } from './helpers/builders.ts';
import { runTs } from './helpers/process.ts';

// A popular tag is one counter document that every post with the tag updates. Its counter moves
// by $inc outside any transaction, so no post can be refused because others used the tag (no 409
// after a transaction's reruns), and where the engine loses concurrent updates (FerretDB v1) the
// process's counter writes take turns (src/db/document-turns.ts), so none is lost. These tests
// run on whatever engine the suite uses (FerretDB by default) and check every response.
const t = useTestApp('tag_contention');

async function storedCount(name: string): Promise<number> {
  return (await t.db.Tag.findOne({ name }).lean())?.postCount ?? 0;
}

/** Posts `n` posts tagged `tags` at once, spread over `users`; every answer must be 201. */
async function postAtOnce(users: TestUser[], n: number, tags: string[]) {
  const responses = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      t.api
        .post('/api/posts')
        .set((users[i % users.length] as TestUser).auth)
        .send({ body: `hot ${i}`, tags }),
    ),
  );
  for (const res of responses) {
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.tags).toEqual(tags);
  }
}

/** `npm run tags:repair -- --check` against this file's database: exit 0 means no drift at all. */
function repairCheck() {
  return runTs('scripts/repair-tag-counts.ts', ['--check'], {
    env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: t.db.connection.name },
  });
}

describe('a popular tag', () => {
  it('50 parallel posts with one tag: all 201, postCount 50 as soon as they answered', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => aUser(t.api)));
    await postAtOnce(users, 50, ['hot50']);
    expect(await storedCount('hot50')).toBe(50);
    expect(await t.db.Post.countDocuments({ tags: 'hot50' })).toBe(50);
  });

  it('200 concurrent posts with one tag: all 201, and the count exact after reconciliation', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => aUser(t.api)));
    await postAtOnce(users, 200, ['hot200', 'other']);
    await t.reconciler.runOnce({ full: true });
    expect(await t.db.Post.countDocuments({ tags: 'hot200' })).toBe(200);
    expect(await storedCount('hot200')).toBe(200);
    expect(await storedCount('other')).toBe(200);
  });

  it('deleting users whose posts carry popular tags, while others post to them, leaves no drift', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => aUser(t.api)));
    for (const user of users.slice(0, 3))
      for (let i = 0; i < 4; i += 1) await aPost(t.api, user, { tags: ['gone', 'hot50'] });
    const [deletions] = await Promise.all([
      Promise.all(users.slice(0, 3).map((u) => t.api.delete(`/api/users/${u.id}`).set(u.auth))),
      postAtOnce(users.slice(3), 30, ['gone']),
    ]);
    for (const res of deletions) expect(res.status, JSON.stringify(res.body)).toBe(204);
    await vi.waitFor(async () => expect(await storedCount('gone')).toBe(30), {
      timeout: 15_000,
      interval: 200,
    });
    expect(await t.db.Post.countDocuments({ tags: 'gone' })).toBe(30);
    expect(await storedCount('hot50')).toBe(50);
  });

  it('after the concurrency above, tags:repair --check finds no drift (exit 0)', async () => {
    const check = await repairCheck();
    expect(check.code, `${check.stdout}\n${check.stderr}`).toBe(0);
    expect(check.stdout).toMatch(/no drift/);
  });
});
