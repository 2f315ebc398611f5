import { getUser } from '../../src/accounts/service.ts';
import { findFollowPage } from '../../src/follows/queries.ts';
import { findTagPage } from '../../src/tags/queries.ts';
import { findUserPage } from '../../src/users/queries.ts';
import { cursor, docPage, keyset, LIMIT, type ReadOperation, sqlPage } from './answers.ts';
import { sqlId } from './sides.ts';
import { READ } from './sql.ts';

type Count = { n: number };

/** Users, follow edges, counts and tags: the reads that are not lists of posts. */
export const PEOPLE_READS: ReadOperation[] = [
  {
    name: 'users by name',
    sql: async (s, after) => {
      const rows = await s.sql.query<{ username: string; created_at: Date }>(READ.userPage, [
        after ?? null,
        LIMIT + 1,
      ]);
      return sqlPage(
        rows,
        (last) => last.username,
        (r) => `${r.username} ${r.created_at.toISOString()}`,
      );
    },
    doc: async (d, after) =>
      docPage(
        await findUserPage(d.db, { ...cursor(after), sort: 'username' }),
        (u) => `${u.username} ${u.createdAt}`,
      ),
  },
  {
    name: 'a user with counts',
    sql: async (s) => {
      const id = sqlId(s.ids.users, s.subjects.author);
      // SQLAlchemy sends these one after the other on the request's one connection.
      const [user] = await s.sql.query<{ username: string }>(READ.userById, [id]);
      const [posts] = await s.sql.query<Count>(READ.countPosts, [id]);
      const [followers] = await s.sql.query<Count>(READ.countFollowers, [id]);
      const [following] = await s.sql.query<Count>(READ.countFollowing, [id]);
      const counts = [posts?.n, followers?.n, following?.n];
      return { items: [`${user?.username} ${counts.join(' ')}`], next: null };
    },
    doc: async (d) => {
      const u = await getUser(d.db, String(d.subjects.author), undefined);
      const counts = [u.postCount, u.followerCount, u.followingCount];
      return { items: [`${u.username} ${counts.join(' ')}`], next: null };
    },
  },
  {
    name: "a user's followers",
    sql: async (s, after) => {
      const id = sqlId(s.ids.users, s.subjects.author);
      const rows = await s.sql.query<{ id: number; username: string; created_at: Date }>(
        READ.followers,
        [...keyset(after), id],
      );
      return sqlPage(
        rows,
        (last) => [last.created_at, last.id],
        (r) => `${r.username} ${r.created_at.toISOString()}`,
      );
    },
    doc: async (d, after) =>
      docPage(
        await findFollowPage(d.db, String(d.subjects.author), 'followers', cursor(after)),
        (f) => `${f.username} ${f.since}`,
      ),
  },
  {
    name: 'tags, most used first',
    sql: async (s, after) => {
      const rows = await s.sql.query<{ name: string; post_count: number }>(
        READ.tagPage,
        keyset(after),
      );
      return sqlPage(
        rows,
        (last) => [last.post_count, last.name],
        (r) => `${r.name} ${r.post_count}`,
      );
    },
    doc: async (d, after) =>
      docPage(
        await findTagPage(d.db, { ...cursor(after), sort: '-postCount' }),
        (t) => `${t.name} ${t.postCount}`,
      ),
  },
];
