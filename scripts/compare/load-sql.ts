import type { Db, Document } from 'mongodb';
import type pg from 'pg';
import { LOAD, SCHEMA } from './sql.ts';

const BATCH = 5000;

/** Integer ids of the relational copy, by the document's ObjectId (hex) or the tag's name. */
export interface IdMap {
  users: Map<string, number>;
  posts: Map<string, number>;
}

/** Reads a collection in _id order, batch by batch, and hands each batch to `load`. */
async function copyInBatches(
  db: Db,
  collection: string,
  load: (docs: Document[], firstIndex: number) => Promise<void>,
): Promise<void> {
  let batch: Document[] = [];
  let index = 0;
  for await (const doc of db.collection(collection).find().sort({ _id: 1 })) {
    batch.push(doc);
    if (batch.length === BATCH) {
      await load(batch, index);
      index += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await load(batch, index);
}

/**
 * Creates the relational schema and copies the bench's dataset (already seeded into `mongo` by
 * scripts/bench/seed.ts) into it, so both sides hold the same rows. Integer ids follow the
 * ObjectIds' order (ObjectIds made by one process increase), so ties on a timestamp break the
 * same way on both sides. Ends with VACUUM ANALYZE: planner statistics and the visibility map
 * a freshly loaded table lacks until autovacuum has passed.
 */
export async function loadSqlCopy(mongo: Db, sql: pg.Client): Promise<IdMap> {
  await sql.query(SCHEMA);
  const ids: IdMap = { users: new Map(), posts: new Map() };
  await copyInBatches(mongo, 'users', async (docs, first) => {
    const userIds = docs.map((_, i) => first + i + 1);
    for (const [i, d] of docs.entries()) ids.users.set(String(d._id), first + i + 1);
    const column = (f: string) => docs.map((d) => d[f]);
    const row = [userIds, column('username'), column('email'), column('passwordHash')];
    await sql.query(LOAD.users, [...row, column('createdAt')]);
    await sql.query(LOAD.profiles, [userIds]);
  });
  const tagIds = new Map<string, number>();
  await copyInBatches(mongo, 'tags', async (docs, first) => {
    for (const [i, d] of docs.entries()) tagIds.set(d.name, first + i + 1);
    await sql.query(LOAD.tags, [docs.map((_, i) => first + i + 1), docs.map((d) => d.name)]);
  });
  await copyInBatches(mongo, 'posts', async (docs, first) => {
    const postIds = docs.map((_, i) => first + i + 1);
    for (const [i, d] of docs.entries()) ids.posts.set(String(d._id), first + i + 1);
    const authors = docs.map((d) => ids.users.get(String(d.author)));
    await sql.query(LOAD.posts, [
      postIds,
      docs.map((d) => d.body),
      docs.map((d) => d.timestamp),
      authors,
    ]);
    const links = docs.flatMap((d, i) =>
      (d.tags as string[]).map((t) => [postIds[i], tagIds.get(t)]),
    );
    await sql.query(LOAD.postTags, [links.map((l) => l[0]), links.map((l) => l[1])]);
  });
  await copyInBatches(mongo, 'follows', async (docs) => {
    const user = (f: string) => docs.map((d) => ids.users.get(String(d[f])));
    await sql.query(LOAD.followers, [
      user('follower'),
      user('followee'),
      docs.map((d) => d.createdAt),
    ]);
  });
  await sql.query(LOAD.sequences);
  await sql.query('VACUUM ANALYZE');
  return ids;
}
