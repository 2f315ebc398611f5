// Every SQL statement of the comparison, written out: the Flask-SQLAlchemy tutorials' schema
// (user, post with user_id, the followers association table, tag + post_tags, a one-to-one
// profile) with the indexes this project's collections have, and the statements SQLAlchemy
// would send for each API read and write. Pages are keyset pages, (timestamp, id) < (cursor),
// as in the document version, never OFFSET.

/**
 * timestamptz, not the tutorials' naive DateTime: node-postgres sends a JS Date with its offset,
 * and the column keeps the instant whatever the machine's time zone. The followers table gains
 * created_at: the API lists edges newest first, so the association table carries when.
 */
export const SCHEMA = `
CREATE TABLE "user" (
  id integer PRIMARY KEY,
  username varchar(64) NOT NULL UNIQUE,
  email varchar(120) NOT NULL UNIQUE,
  password_hash varchar(128) NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE profile (
  id serial PRIMARY KEY,
  user_id integer NOT NULL UNIQUE REFERENCES "user" (id),
  about_me varchar(280),
  avatar_url varchar(2048)
);
CREATE TABLE post (
  id serial PRIMARY KEY,
  body varchar(140) NOT NULL,
  timestamp timestamptz NOT NULL,
  user_id integer NOT NULL REFERENCES "user" (id)
);
CREATE INDEX post_user_timestamp ON post (user_id, timestamp DESC, id DESC);
CREATE INDEX post_timestamp ON post (timestamp DESC, id DESC);
CREATE TABLE tag (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL UNIQUE
);
CREATE TABLE post_tags (
  post_id integer NOT NULL REFERENCES post (id),
  tag_id integer NOT NULL REFERENCES tag (id),
  PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);
CREATE TABLE followers (
  follower_id integer NOT NULL REFERENCES "user" (id),
  followed_id integer NOT NULL REFERENCES "user" (id),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (follower_id, followed_id)
);
CREATE INDEX followers_follower_created ON followers (follower_id, created_at DESC);
CREATE INDEX followers_followed_created ON followers (followed_id, created_at DESC);
`;

/** Bulk loads: one statement per table and batch, the columns as arrays (unnest). */
export const LOAD = {
  users: `INSERT INTO "user" (id, username, email, password_hash, created_at)
    SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])`,
  profiles: `INSERT INTO profile (user_id) SELECT * FROM unnest($1::int[])`,
  posts: `INSERT INTO post (id, body, timestamp, user_id)
    SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::int[])`,
  tags: `INSERT INTO tag (id, name) SELECT * FROM unnest($1::int[], $2::text[])`,
  postTags: `INSERT INTO post_tags (post_id, tag_id) SELECT * FROM unnest($1::int[], $2::int[])`,
  followers: `INSERT INTO followers (follower_id, followed_id, created_at)
    SELECT * FROM unnest($1::int[], $2::int[], $3::timestamptz[])`,
  // Explicit ids were loaded: the sequences continue after them.
  sequences: `SELECT setval('post_id_seq', (SELECT max(id) FROM post)),
    setval('tag_id_seq', (SELECT max(id) FROM tag))`,
};

const POST_COLUMNS = `post.id, post.body, post.timestamp, "user".id AS author_id, "user".username`;
const PAGE = `ORDER BY post.timestamp DESC, post.id DESC LIMIT $3`;
// The cursor: ($1, $2) is the last row's (timestamp, id), both null on the first page.
const AFTER = `($1::timestamptz IS NULL OR (post.timestamp, post.id) < ($1, $2::int))`;

/** Reads, with the parameters each takes. */
export const READ = {
  /** Post.query.order_by(Post.timestamp.desc()) with the author joined: $1-$3 cursor + limit. */
  postPage: `SELECT ${POST_COLUMNS} FROM post JOIN "user" ON "user".id = post.user_id
    WHERE ${AFTER} ${PAGE}`,
  /** The page's tags through the association table (selectinload(Post.tags)): $1 post ids. */
  tagsOfPosts: `SELECT post_tags.post_id, tag.name FROM post_tags
    JOIN tag ON tag.id = post_tags.tag_id WHERE post_tags.post_id = ANY($1::int[])`,
  /** Post.query.get(id) with its author: $1 id. */
  postById: `SELECT ${POST_COLUMNS} FROM post JOIN "user" ON "user".id = post.user_id
    WHERE post.id = $1`,
  /** User.query.get(id) (also what Flask-Login loads for current_user): $1 id. */
  userById: `SELECT id, username, email, created_at FROM "user" WHERE id = $1`,
  /** user.posts.order_by(...) (lazy='dynamic'): $4 user id. */
  userPosts: `SELECT ${POST_COLUMNS} FROM post JOIN "user" ON "user".id = post.user_id
    WHERE post.user_id = $4 AND ${AFTER} ${PAGE}`,
  /** tag.posts through post_tags: $4 tag name. */
  tagPosts: `SELECT ${POST_COLUMNS} FROM post
    JOIN post_tags ON post_tags.post_id = post.id JOIN tag ON tag.id = post_tags.tag_id
    JOIN "user" ON "user".id = post.user_id
    WHERE tag.name = $4 AND ${AFTER} ${PAGE}`,
  /** The tutorial's followed_posts(): the followed users' posts joined, union the user's own. */
  feed: `SELECT ${POST_COLUMNS} FROM (
      SELECT post.* FROM post JOIN followers ON followers.followed_id = post.user_id
        WHERE followers.follower_id = $4
      UNION
      SELECT post.* FROM post WHERE post.user_id = $4
    ) AS post JOIN "user" ON "user".id = post.user_id
    WHERE ${AFTER} ${PAGE}`,
  /** User.query.order_by(User.username): $1 the last username (null first), $2 limit. */
  userPage: `SELECT id, username, created_at FROM "user"
    WHERE ($1::text IS NULL OR username > $1) ORDER BY username LIMIT $2`,
  /** user.posts.count(), user.followers.count(), user.followed.count(): $1 user id. */
  countPosts: `SELECT count(*)::int AS n FROM post WHERE user_id = $1`,
  countFollowers: `SELECT count(*)::int AS n FROM followers WHERE followed_id = $1`,
  countFollowing: `SELECT count(*)::int AS n FROM followers WHERE follower_id = $1`,
  /** user.followers newest first: $1-$2 cursor (created_at, follower id), $3 limit, $4 user. */
  followers: `SELECT "user".id, "user".username, followers.created_at FROM followers
    JOIN "user" ON "user".id = followers.follower_id
    WHERE followers.followed_id = $4
      AND ($1::timestamptz IS NULL OR (followers.created_at, followers.follower_id) < ($1, $2::int))
    ORDER BY followers.created_at DESC, followers.follower_id DESC LIMIT $3`,
  /** Tags most used first, counted from the association table: $1-$2 cursor (count, name), $3 limit. */
  tagPage: `SELECT tag.name, count(*)::int AS post_count FROM tag
    JOIN post_tags ON post_tags.tag_id = tag.id GROUP BY tag.id
    HAVING $1::int IS NULL OR (count(*) < $1 OR (count(*) = $1 AND tag.name > $2::text))
    ORDER BY post_count DESC, tag.name LIMIT $3`,
};

/** Writes: what the session's flush sends, in one transaction per request. */
export const WRITE = {
  begin: 'BEGIN',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  /** Which of the post's tags exist already: $1 names. */
  tagsByName: `SELECT id, name FROM tag WHERE name = ANY($1::text[])`,
  /** The new ones: $1 names. */
  insertTags: `INSERT INTO tag (name) SELECT * FROM unnest($1::text[]) RETURNING id, name`,
  /** $1 body, $2 timestamp, $3 author id. */
  insertPost: `INSERT INTO post (body, timestamp, user_id) VALUES ($1, $2, $3) RETURNING id`,
  /** $1 post id, $2 tag ids. */
  insertPostTags: `INSERT INTO post_tags (post_id, tag_id) SELECT $1, unnest($2::int[])`,
  /** user.follow(other): $1 follower, $2 followed (a repeated follow changes nothing). */
  insertFollow: `INSERT INTO followers (follower_id, followed_id, created_at)
    VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`,
};

/** Sizes of each table and of its indexes, on disk (8 kB pages). */
export const SIZES = `SELECT c.relname AS table, c.reltuples::bigint AS rows,
    pg_table_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes,
    (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)::int AS indexes
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`;
