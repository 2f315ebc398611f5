import { getFeed } from '../../src/feed/service.ts';
import { findPostView, findTagPostPage, findUserPostPage } from '../../src/posts/queries.ts';
import type { PostView } from '../../src/posts/schemas.ts';
import { listPosts } from '../../src/posts/service.ts';
import type { PendingUser } from '../../src/shared/auth-user.ts';
import type { Page } from '../../src/shared/page.ts';
import {
  type Answer,
  cursor,
  docPage,
  keyset,
  LIMIT,
  type ReadOperation,
  sqlPage,
} from './answers.ts';
import { type DocSide, type Sql, sqlId } from './sides.ts';
import { READ } from './sql.ts';

type PostRow = { id: number; body: string; timestamp: Date; author_id: number; username: string };

/** A post as both sides can show it: ids differ (integers, ObjectIds), the rest must not. */
const post = (p: { author: string; timestamp: string; body: string; tags: string[] }) =>
  `${p.author} ${p.timestamp} [${[...p.tags].sort().join(' ')}] ${p.body}`;

const docPosts = (page: Page<PostView>): Answer =>
  docPage(page, (p) => post({ ...p, author: p.author?.username ?? '' }));

/** A page of post rows with their tags (selectinload: a second statement for the page's posts). */
async function sqlPosts(sql: Sql, rows: PostRow[]): Promise<Answer> {
  const ids = rows.slice(0, LIMIT).map((r) => r.id);
  const tags = new Map<number, string[]>();
  if (ids.length > 0) {
    const links = await sql.query<{ post_id: number; name: string }>(READ.tagsOfPosts, [ids]);
    for (const l of links) tags.set(l.post_id, [...(tags.get(l.post_id) ?? []), l.name]);
  }
  return sqlPage(
    rows,
    (last) => [last.timestamp, last.id],
    (r) =>
      post({
        ...r,
        author: r.username,
        timestamp: r.timestamp.toISOString(),
        tags: tags.get(r.id) ?? [],
      }),
  );
}

const pendingReader = (side: DocSide): PendingUser => ({
  id: String(side.subjects.reader),
  confirmed: undefined,
  async confirm() {
    return { id: String(side.subjects.reader), username: side.subjects.readerName };
  },
});

export const POST_READS: ReadOperation[] = [
  {
    name: 'posts, newest first',
    sql: async (s, after) => sqlPosts(s.sql, await s.sql.query(READ.postPage, keyset(after))),
    doc: async (d, after) => docPosts(await listPosts(d.db, cursor(after))),
  },
  {
    name: 'one post',
    sql: async (s) =>
      sqlPosts(s.sql, await s.sql.query(READ.postById, [sqlId(s.ids.posts, s.subjects.post)])),
    doc: async (d) =>
      docPosts({ items: [await findPostView(d.db, String(d.subjects.post))], nextCursor: null }),
  },
  {
    name: "a user's posts",
    sql: async (s, after) => {
      const id = sqlId(s.ids.users, s.subjects.author);
      await s.sql.query(READ.userById, [id]);
      return sqlPosts(s.sql, await s.sql.query(READ.userPosts, [...keyset(after), id]));
    },
    doc: async (d, after) =>
      docPosts(await findUserPostPage(d.db, String(d.subjects.author), cursor(after))),
  },
  {
    name: "a tag's posts",
    sql: async (s, after) =>
      sqlPosts(s.sql, await s.sql.query(READ.tagPosts, [...keyset(after), s.subjects.tag])),
    doc: async (d, after) => docPosts(await findTagPostPage(d.db, d.subjects.tag, cursor(after))),
  },
  {
    name: 'feed (followed_posts)',
    sql: async (s, after) => {
      // Flask-Login loads current_user first; the document side reads it with the authors.
      const id = sqlId(s.ids.users, s.subjects.reader);
      await s.sql.query(READ.userById, [id]);
      return sqlPosts(s.sql, await s.sql.query(READ.feed, [...keyset(after), id]));
    },
    doc: async (d, after) => docPosts(await getFeed(d.db, pendingReader(d), cursor(after))),
  },
];
