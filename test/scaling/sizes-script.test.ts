import { tmpdir } from 'node:os';
import { MongoClient } from 'mongodb';
import { describe, expect, inject, it } from 'vitest';
import { startTs } from '../helpers/process.ts';

// npm run bench:sizes measures what docs/scaling.md's sizing table is extrapolated from: it must
// report every collection with figures a document of that shape can have, and leave nothing.
describe('npm run bench:sizes', () => {
  it('measures users, posts, follows and tags on a throw-away database and drops it', async () => {
    const uri = inject('mongoUri');
    const run = await startTs('scripts/bench/sizes.ts', ['--scale', '0.002'], {
      env: { MONGODB_URI: uri },
      cwd: tmpdir(),
      timeoutMs: 120_000,
    }).done;
    expect(run.code, run.stderr).toBe(0);
    const rows = new Map(
      run.stdout
        .split('\n')
        .filter((line) => /^\| (users|posts|follows|tags) \|/.test(line))
        .map((line) => {
          const cells = line.split('|').map((c) => c.trim());
          return [cells[1], { documents: Number(cells[2]), bsonPerDoc: Number(cells[3]) }];
        }),
    );
    expect([...rows.keys()]).toEqual(['users', 'posts', 'follows', 'tags']);
    // The seed's shapes: a user with its hash and empty profile, a post with a 60-character
    // body, an edge of two ObjectIds and a date, a tag name and count.
    expect(rows.get('users')).toMatchObject({ documents: 20 });
    expect(rows.get('users')?.bsonPerDoc).toBeGreaterThan(200);
    expect(rows.get('posts')).toMatchObject({ documents: 400 });
    expect(rows.get('posts')?.bsonPerDoc).toBeGreaterThan(120);
    expect(rows.get('follows')?.bsonPerDoc).toBe(85);
    const client = await MongoClient.connect(uri);
    try {
      const { databases } = await client.db('admin').command({ listDatabases: 1, nameOnly: true });
      expect(
        databases
          .map((d: { name: string }) => d.name)
          .filter((n: string) => n.startsWith('sizes_')),
      ).toEqual([]);
    } finally {
      await client.close();
    }
  }, 180_000);
});
