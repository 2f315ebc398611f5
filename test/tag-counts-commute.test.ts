import { describe, expect, it } from 'vitest';
import type { Database } from '../src/db/connection.ts';
import { createPost } from '../src/posts/service.ts';
import { recountTag } from '../src/tags/counters.ts';
import { repairTagCounts } from '../src/tags/service.ts';
import { useTestApp } from './helpers/app.ts';
import { aPost, aUser } from './helpers/builders.ts';

// Tag counters move by plain $inc, so the final count does not depend on the order the moves
// arrive in (MongoDB's rule: updates of one document apply one after another; where the engine
// breaks it, the models' writes take turns: src/db/document-turns.ts). And a recount that cannot
// be trusted writes nothing, so it never overwrites a move that landed while it counted.
const t = useTestApp('tag_commute');

const storedCount = async (name: string) => (await t.db.Tag.findOne({ name }).lean())?.postCount;

/** The database with its Tag model's bulk writes held until `release` is called. */
function holdingTagWrites(db: Database) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached = () => {};
  const held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const Tag = new Proxy(db.Tag, {
    get(target, property, receiver) {
      if (property !== 'bulkWrite') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<typeof target.bulkWrite>) => {
        reached();
        await released;
        return target.bulkWrite(...args);
      };
    },
  });
  return { db: { ...db, Tag } as Database, held, release };
}

describe('tag counts under moves in any order', () => {
  it("a user deletion's decrement arriving before a post's increment leaves the count exact", async () => {
    for (let round = 0; round < 3; round += 1) {
      const name = `late-${round}`;
      const author = await aUser(t.api);
      await aPost(t.api, author, { tags: [name] });
      await aPost(t.api, author, { tags: [name] });
      // A third post is written, but its +1 is held back until the author's deletion has
      // moved the count by -3 (its three posts).
      const holding = holdingTagWrites(t.db);
      const third = createPost(holding.db, author, { body: 'late', tags: [name] });
      await holding.held;
      expect(await t.db.Post.countDocuments({ tags: name })).toBe(3);
      const deleted = await t.api.delete(`/api/users/${author.id}`).set(author.auth);
      expect(deleted.status).toBe(204);
      holding.release();
      await expect(third).rejects.toMatchObject({ code: 'invalid-token' });

      expect(await t.db.Post.countDocuments({ tags: name })).toBe(0);
      expect(await storedCount(name)).toBe(0);
    }
    expect((await repairTagCounts(t.db, { check: true })).drift).toEqual([]);
  });

  it('a recount that an $inc of another process overtakes writes nothing, and the next one is exact', async () => {
    const author = await aUser(t.api);
    for (let i = 0; i < 3; i += 1) await aPost(t.api, author, { tags: ['overtaken'] });
    await t.db.Tag.updateOne({ name: 'overtaken' }, { $set: { postCount: 7 } }); // drifted
    // While the recount counts the posts, another process posts with the tag and moves its +1.
    const Post = new Proxy(t.db.Post, {
      get(target, property, receiver) {
        if (property !== 'countDocuments') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<typeof target.countDocuments>) => {
          const counted = await target.countDocuments(...args);
          await t.db.Post.create({ body: 'meanwhile', author: author.id, tags: ['overtaken'] });
          await t.db.Tag.updateOne({ name: 'overtaken' }, { $inc: { postCount: 1 } });
          return counted;
        };
      },
    });
    const racing = { ...t.db, Post } as Database;

    expect(await recountTag(racing, 'overtaken')).toBe(false);
    expect(await storedCount('overtaken')).toBe(8); // the drifted 7 and the +1, not the stale 3

    expect(await recountTag(t.db, 'overtaken')).toBe(true);
    expect(await storedCount('overtaken')).toBe(4);
  });

  it('npm run tags:repair leaves a count that moved during its run for the next run', async () => {
    const author = await aUser(t.api);
    await aPost(t.api, author, { tags: ['repair-race'] });
    await t.db.Tag.updateOne({ name: 'repair-race' }, { $set: { postCount: 9 } }); // drifted
    const Tag = new Proxy(t.db.Tag, {
      get(target, property, receiver) {
        if (property !== 'bulkWrite') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<typeof target.bulkWrite>) => {
          // A post lands, and moves its +1, between the repair's reading and its writing.
          await t.db.Post.create({ body: 'meanwhile', author: author.id, tags: ['repair-race'] });
          await t.db.Tag.updateOne({ name: 'repair-race' }, { $inc: { postCount: 1 } });
          return target.bulkWrite(...args);
        };
      },
    });
    const run = await repairTagCounts({ ...t.db, Tag } as Database);
    expect(run.drift).toContainEqual({ name: 'repair-race', stored: 9, actual: 1 });
    expect(await storedCount('repair-race')).toBe(10);
    await repairTagCounts(t.db);
    expect(await storedCount('repair-race')).toBe(2);
  });
});
