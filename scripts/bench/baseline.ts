import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Db, type Document, ObjectId } from 'mongodb';
import type { TokenService } from '../../src/auth/tokens.ts';
import { postLists } from '../../src/posts/schemas.ts';
import type { Keyset } from '../../src/shared/cursor.ts';
import { AppError } from '../../src/shared/errors.ts';
import {
  DEFAULT_PAGE_SIZE,
  keysetPage,
  keysetQuery,
  MAX_PAGE_SIZE,
  PAGE_SIZE_DIGITS,
} from '../../src/shared/page.ts';

/**
 * The practical limit of this stack: node:http and the raw driver, issuing the fewest commands
 * that return the same JSON as the API (two finds for a page of posts with authors: $lookup
 * would make it one on MongoDB, but FerretDB v1 lacks it, and one plan must serve both engines).
 * No validation library, no middleware, no logging. Not part of the app.
 */

const POST_FIELDS = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;
const HEX_ID = /^[0-9a-f]{24}$/;

export interface PostDoc {
  _id: ObjectId;
  body: string;
  timestamp: Date;
  tags?: string[];
  author: ObjectId;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

function objectId(raw: string | undefined): ObjectId {
  if (!raw || !HEX_ID.test(raw)) throw new HttpError(400, 'validation-failed');
  return new ObjectId(raw);
}

/** The API's page-size rule: decimal digits, 1-100, given once. */
function pageLimit(params: URLSearchParams): number {
  const given = params.getAll('limit');
  if (given.length === 0) return DEFAULT_PAGE_SIZE;
  const limit = given.length === 1 && PAGE_SIZE_DIGITS.test(given[0] ?? '') ? Number(given[0]) : 0;
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError(400, 'validation-failed');
  return limit;
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
  list: Keyset,
  filter: Document,
  params: URLSearchParams,
  knownAuthor?: { id: ObjectId; username: string },
  skip = 0,
) {
  const limit = pageLimit(params);
  const page = keysetQuery(list, { limit, cursor: params.get('cursor') ?? undefined });
  const posts = (await db
    .collection('posts')
    .find({ $and: [filter, page.filter] }, { projection: POST_FIELDS })
    .sort(page.sort)
    .skip(skip)
    .limit(page.limit)
    .toArray()) as PostDoc[];
  const items = posts.slice(0, limit);
  const authors = knownAuthor
    ? new Map([[knownAuthor.id.toHexString(), knownAuthor.username]])
    : await authorsOf(db, items);
  return keysetPage(list, posts, limit, (p) => view(p, authors));
}

async function route(db: Db, tokens: TokenService, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://baseline');
  const parts = url.pathname.split('/').filter(Boolean);
  const params = url.searchParams;
  if (req.method !== 'GET') throw new HttpError(405, 'method-not-allowed');
  if (url.pathname === '/api/posts') return postPage(db, postLists.all({}), {}, params);
  if (url.pathname === '/skip/posts') {
    const skip = Number(params.get('skip') ?? 0);
    if (!Number.isInteger(skip) || skip < 0) throw new HttpError(400, 'skip');
    return postPage(db, postLists.all({}), {}, params, undefined, skip);
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
    return postPage(db, postLists.byAuthor(id.toHexString()), { author: id }, params, {
      id,
      username: user.username,
    });
  }
  if (url.pathname === '/api/feed') {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match?.[1]) throw new HttpError(401, 'unauthenticated');
    const { userId } = await tokens.verify(match[1]).catch(() => {
      throw new HttpError(401, 'invalid-token');
    });
    const me = objectId(userId);
    const followees = await db.collection('follows').distinct('followee', { follower: me });
    return postPage(db, postLists.feed(userId), { author: { $in: [...followees, me] } }, params);
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
        // The shared paging helpers throw the API's error type (invalid-cursor).
        const known =
          error instanceof AppError ? new HttpError(400, error.code) : (error as HttpError);
        const status = known instanceof HttpError ? known.status : 500;
        const code = known instanceof HttpError ? known.code : 'internal';
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code } }));
      },
    );
  };
}
