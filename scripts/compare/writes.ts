import type { ObjectId } from 'mongodb';
import { follow } from '../../src/follows/service.ts';
import { createPost } from '../../src/posts/service.ts';
import type { AuthUser } from '../../src/shared/auth-user.ts';
import { type DocSide, type Sql, type SqlSide, sqlId } from './sides.ts';
import { READ, WRITE } from './sql.ts';

/** A write, the i-th of its kind (so that each one writes something new where it should). */
export interface WriteOperation {
  name: string;
  sql(side: SqlSide, i: number): Promise<unknown>;
  doc(side: DocSide, i: number): Promise<unknown>;
}

/** Three tags: two the dataset uses already, one new each time (the tag table grows too). */
const newPost = (i: number) => ({ body: `compare post ${i}`, tags: ['tag0', 'tag1', `new${i}`] });

/** One request's unit of work: what the session sends around its flush and commit. */
async function inTransaction<T>(sql: Sql, work: () => Promise<T>): Promise<T> {
  await sql.query(WRITE.begin);
  try {
    const result = await work();
    await sql.query(WRITE.commit);
    return result;
  } catch (error) {
    await sql.query(WRITE.rollback);
    throw error;
  }
}

/** `db.session.add(post); db.session.commit()` with post.tags set from names. */
function insertPost(sql: Sql, authorId: number, input: { body: string; tags: string[] }) {
  return inTransaction(sql, async () => {
    type Tag = { id: number; name: string };
    const found = await sql.query<Tag>(WRITE.tagsByName, [input.tags]);
    const missing = input.tags.filter((t) => !found.some((f) => f.name === t));
    const added = missing.length ? await sql.query<Tag>(WRITE.insertTags, [missing]) : [];
    const values = [input.body, new Date(), authorId];
    const [row] = await sql.query<{ id: number }>(WRITE.insertPost, values);
    const tags = [...found, ...added];
    await sql.query(WRITE.insertPostTags, [row?.id, tags.map((t) => t.id)]);
    return { body: input.body, tags: tags.map((t) => t.name).sort() };
  });
}

const actor = (id: ObjectId, username: string): AuthUser => ({ id: String(id), username });

/** The i-th user the follower follows: its rank from 2 on (some edges exist: a no-op both ways). */
const followee = (users: ObjectId[], i: number) => users[2 + (i % (users.length - 2))] as ObjectId;

export const WRITES: WriteOperation[] = [
  {
    name: 'create a post with 3 tags',
    sql: (s, i) => insertPost(s.sql, sqlId(s.ids.users, s.subjects.reader), newPost(i)),
    doc: async (d, i) => {
      const author = actor(d.subjects.reader, d.subjects.readerName);
      const view = await createPost(d.db, author, newPost(i));
      return { body: view.body, tags: [...view.tags].sort() };
    },
  },
  {
    name: 'follow a user',
    sql: async (s, i) => {
      const follower = sqlId(s.ids.users, s.subjects.userIds[s.subjects.followerRank] as ObjectId);
      const target = sqlId(s.ids.users, followee(s.subjects.userIds, i));
      // user.follow(User.query.get(id)): the target is loaded first (404 when it is gone).
      await inTransaction(s.sql, async () => {
        await s.sql.query(READ.userById, [target]);
        await s.sql.query(WRITE.insertFollow, [follower, target]);
      });
      return null;
    },
    doc: async (d, i) => {
      const rank = d.subjects.followerRank;
      const me = actor(d.subjects.userIds[rank] as ObjectId, `bench_${rank}`);
      await follow(d.db, me, String(followee(d.subjects.userIds, i)));
      return null;
    },
  },
];
