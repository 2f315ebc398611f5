import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aUser } from './helpers/builders.ts';
import { recordCommands } from './helpers/db.ts';

// A page of N posts with their authors costs the same number of database commands for every N:
// populate batches the author ids into one query (no N+1).
const t = useTestApp('command_count');
let authorIds: string[];
beforeAll(async () => {
  const authors = await Promise.all(Array.from({ length: 12 }, () => aUser(t.api)));
  authorIds = authors.map((a) => a.id);
  await t.db.Post.insertMany(
    Array.from({ length: 60 }, (_, i) => ({
      body: `p${i}`,
      author: authorIds[i % authorIds.length],
    })),
  );
});

async function commandsFor(path: string) {
  let status = 0;
  const names = await recordCommands(t.db, async () => {
    status = (await t.api.get(path)).status;
  });
  expect(status).toBe(200);
  return names;
}

describe('database commands per request', () => {
  it('GET /api/posts costs 2 commands (posts, then authors) for 1, 10 and 60 posts', async () => {
    const counts = [];
    for (const limit of [1, 10, 60]) {
      const names = await commandsFor(`/api/posts?limit=${limit}`);
      expect(names).toEqual(['find', 'find']);
      counts.push(names.length);
    }
    expect(new Set(counts).size).toBe(1);
  });

  it('GET /api/users/:id/posts costs 2 commands (the user, then its posts) whatever the page size', async () => {
    for (const limit of [1, 50]) {
      expect(await commandsFor(`/api/users/${authorIds[0]}/posts?limit=${limit}`)).toEqual([
        'find',
        'find',
      ]);
    }
  });

  it('GET /api/posts/:id costs 2 commands', async () => {
    const post = await t.db.Post.findOne().lean();
    expect(await commandsFor(`/api/posts/${post?._id}`)).toHaveLength(2);
  });

  it('GET /api/users costs 1 command', async () => {
    expect(await commandsFor('/api/users?limit=50')).toEqual(['find']);
  });

  it('GET /api/tags costs 1 command and GET /api/tags/:name/posts 2, whatever the page size', async () => {
    const author = await aUser(t.api);
    for (let i = 0; i < 12; i += 1) {
      await t.api
        .post('/api/posts')
        .set(author.auth)
        .send({ body: `t${i}`, tags: [`tag${i % 4}`, 'common'] });
    }
    for (const limit of [1, 50]) {
      expect(await commandsFor(`/api/tags?limit=${limit}`)).toEqual(['find']);
      expect(await commandsFor(`/api/tags/common/posts?limit=${limit}`)).toEqual(['find', 'find']);
    }
  });

  it('GET /api/users/:id/followers costs 3 commands (the user, the edges, their users)', async () => {
    const star = await aUser(t.api);
    const fans = await Promise.all(Array.from({ length: 6 }, () => aUser(t.api)));
    const follows = await Promise.all(
      fans.map((f) => t.api.put(`/api/users/${star.id}/follow`).set(f.auth)),
    );
    expect(follows.map((r) => r.status)).toEqual(Array(6).fill(204));
    for (const limit of [1, 50]) {
      expect(await commandsFor(`/api/users/${star.id}/followers?limit=${limit}`)).toEqual([
        'find',
        'find',
        'find',
      ]);
    }
  });
});
