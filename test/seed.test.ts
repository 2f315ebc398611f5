import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../src/db/connection.ts';
import { repairTagCounts } from '../src/tags/service.ts';
import { dropTestDatabase, openTestDatabase, testDbName } from './helpers/db.ts';
import { runTs } from './helpers/process.ts';

const SEED = 'scripts/seed.ts';

describe('npm run seed', { timeout: 120_000 }, () => {
  const dbName = testDbName('seed');
  const env = { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, MIGRATIONS_ON_START: 'apply' };
  const seed = (args: string[]) => runTs(SEED, args, { env, timeoutMs: 90_000 });
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase('seed', { dbName });
  });
  afterAll(() => dropTestDatabase(db));

  /** What the data says, without ids and times: two seedings of one seed must agree. */
  async function contents() {
    const posts = await db.Post.find({}, { body: 1, tags: 1, author: 1 })
      .sort({ timestamp: 1 })
      .populate<{ author: { username: string } }>('author', 'username')
      .lean();
    const users = await db.User.find({}, { username: 1, profile: 1 }).sort({ username: 1 }).lean();
    return {
      users: users.map((u) => [u.username, u.profile?.aboutMe]),
      posts: posts.map((p) => [p.author.username, p.body, p.tags]),
      follows: await db.Follow.countDocuments(),
    };
  }

  it('on an empty database, creates users, posts, tags and follows that the models accept', async () => {
    const result = await seed([]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^seed: 40 users, 800 posts over 6 weeks with \d+ tags, \d+ follows/,
    );
    expect(result.stdout).toContain("curl -s 'http://127.0.0.1:3000/api/posts?limit=3'");
    const collections = [db.User.find(), db.Post.find(), db.Follow.find(), db.Tag.find()];
    for (const docs of await Promise.all(collections)) {
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) await doc.validate();
    }
    const profiles = await db.User.countDocuments({ 'profile.aboutMe': /^Writes about / });
    expect(profiles).toBe(40);
    // Every tag's postCount is what the API would have kept: the posts that carry it.
    expect((await repairTagCounts(db, { check: true })).drift).toEqual([]);
    const [first, last] = await Promise.all(
      [1, -1].map((order) =>
        db.Post.findOne()
          .sort({ timestamp: order === 1 ? 1 : -1 })
          .lean(),
      ),
    );
    const days =
      ((last?.timestamp.getTime() ?? 0) - (first?.timestamp.getTime() ?? 0)) / 86_400_000;
    expect(days).toBeGreaterThan(35);
  });

  it('refuses a database that holds users, changing nothing; --reset replaces them, the same for the same seed', async () => {
    const before = await contents();

    const refused = await seed([]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`database "${dbName}" already holds 40 users`);
    expect(await contents()).toEqual(before);

    const badSeed = await seed(['--reset', '--seed', '-3']);
    expect(badSeed.code).toBe(2);
    expect(await contents()).toEqual(before);

    expect((await seed(['--reset'])).code).toBe(0);
    expect(await contents()).toEqual(before);
    expect((await seed(['--reset', '--seed', '2'])).code).toBe(0);
    expect((await contents()).posts).not.toEqual(before.posts);
  });
});
