import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Db, type Document, ObjectId } from 'mongodb';
import type { TokenService } from '../../src/auth/tokens.ts';

/**
 * The practical limit of this stack: node:http and the raw driver, issuing the fewest commands
 * that return the same JSON as the API (two finds for a page of posts with authors: $lookup
 * would make it one on MongoDB, but FerretDB v1 lacks it, and one plan must serve both engines).
 * No validation library, no middleware, no logging. Not part of the app.
 */

const NEWEST_FIRST = { timestamp: -1, _id: -1 } as const;
const POST_FIELDS = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;
const HEX_ID = /^[0-9a-f]{24}$/;

interface PostDoc {
  _id: ObjectId;
  body: string;
  timestamp: Date;
  tags?: string[];
  author: ObjectId;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

function objectId(raw: string | undefined): ObjectId {
  if (!raw || !HEX_ID.test(raw)) throw new HttpError(400, 'invalid-id');
  return new ObjectId(raw);
}

function pageLimit(params: URLSearchParams): number {
  const limit = Number(params.get('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, 'limit');
  return limit;
}

function keyset(cursor: string | null): Document {
  if (!cursor) return {};
  let position: { t?: unknown; id?: unknown };
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid-cursor');
  }
  if (!Number.isInteger(position.t) || typeof position.id !== 'string' || !HEX_ID.test(position.id))
    throw new HttpError(400, 'invalid-cursor');
  const timestamp = new Date(position.t as number);
  return {
    $or: [
      { timestamp: { $lt: timestamp } },
      { timestamp, _id: { $lt: new ObjectId(position.id) } },
    ],
  };
}

function view(post: PostDoc, authors: Map<string, string>) {
  const name = authors.get(post.author.toHexString());
  return {
    id: post._id.toHexString(),
    body: post.body,
    timestamp: post.timestamp.toISOString(),
    tags: post.tags ?? [],
    author: name === undefined ? null : { id: post.author.toHexString(), username: name },
  };
}

async function authorsOf(db: Db, posts: PostDoc[]): Promise<Map<string, string>> {
  if (posts.length === 0) return new Map();
  const ids = [...new Map(posts.map((p) => [p.author.toHexString(), p.author])).values()];
  const users = await db
    .collection('users')
    .find({ _id: { $in: ids } }, { projection: { username: 1 } })
    .toArray();
  return new Map(users.map((u) => [u._id.toHexString(), u.username as string]));
}

async function postPage(
  db: Db,
  filter: Document,
  params: URLSearchParams,
  knownAuthor?: { id: ObjectId; username: string },
  skip = 0,
) {
  const limit = pageLimit(params);
  const posts = (await db
    .collection('posts')
    .find({ $and: [filter, keyset(params.get('cursor'))] }, { projection: POST_FIELDS })
    .sort(NEWEST_FIRST)
    .skip(skip)
    .limit(limit + 1)
    .toArray()) as PostDoc[];
  const items = posts.slice(0, limit);
  const authors = knownAuthor
    ? new Map([[knownAuthor.id.toHexString(), knownAuthor.username]])
    : await authorsOf(db, items);
  const last = items.at(-1);
  return {
    items: items.map((p) => view(p, authors)),
    nextCursor:
      posts.length > limit && last
        ? Buffer.from(
            JSON.stringify({ t: last.timestamp.getTime(), id: last._id.toHexString() }),
          ).toString('base64url')
        : null,
  };
}

async function route(db: Db, tokens: TokenService, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://baseline');
  const parts = url.pathname.split('/').filter(Boolean);
  const params = url.searchParams;
  if (req.method !== 'GET') throw new HttpError(405, 'method-not-allowed');
  if (url.pathname === '/api/posts') return postPage(db, {}, params);
  if (url.pathname === '/skip/posts') {
    const skip = Number(params.get('skip') ?? 0);
    if (!Number.isInteger(skip) || skip < 0) throw new HttpError(400, 'skip');
    return postPage(db, {}, params, undefined, skip);
  }
  if (parts[0] === 'api' && parts[1] === 'posts' && parts.length === 3) {
    const post = (await db
      .collection('posts')
      .findOne({ _id: objectId(parts[2]) }, { projection: POST_FIELDS })) as PostDoc | null;
    if (!post) throw new HttpError(404, 'post-not-found');
    const author = await db
      .collection('users')
      .findOne({ _id: post.author }, { projection: { username: 1 } });
    return view(post, new Map(author ? [[post.author.toHexString(), author.username]] : []));
  }
  if (parts[0] === 'api' && parts[1] === 'users' && parts[3] === 'posts' && parts.length === 4) {
    const id = objectId(parts[2]);
    const user = await db.collection('users').findOne({ _id: id }, { projection: { username: 1 } });
    if (!user) throw new HttpError(404, 'user-not-found');
    return postPage(db, { author: id }, params, { id, username: user.username });
  }
  if (url.pathname === '/api/feed') {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match?.[1]) throw new HttpError(401, 'unauthenticated');
    const { userId } = await tokens.verify(match[1]).catch(() => {
      throw new HttpError(401, 'invalid-token');
    });
    const me = objectId(userId);
    const followees = await db.collection('follows').distinct('followee', { follower: me });
    return postPage(db, { author: { $in: [...followees, me] } }, params);
  }
  throw new HttpError(404, 'not-found');
}

/** The baseline's request listener over an open driver database. */
export function baselineListener(db: Db, tokens: TokenService): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    route(db, tokens, req).then(
      (result) => {
        const body = JSON.stringify(result);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      },
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        const code = error instanceof HttpError ? error.code : 'internal';
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code } }));
      },
    );
  };
}
