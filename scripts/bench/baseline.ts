import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Express, type Request, type RequestHandler } from 'express';
import { type Db, type Document, ObjectId } from 'mongodb';
import { authenticateLater } from '../../src/auth/service.ts';
import type { TokenService } from '../../src/auth/tokens.ts';
import type { Database } from '../../src/db/connection.ts';
import { getFeed } from '../../src/feed/service.ts';
import { findPostView, findUserPostPage } from '../../src/posts/queries.ts';
import { type PostView, postLists } from '../../src/posts/schemas.ts';
import { listPosts } from '../../src/posts/service.ts';
import type { Keyset } from '../../src/shared/cursor.ts';
import { AppError } from '../../src/shared/errors.ts';
import {
  DEFAULT_PAGE_SIZE,
  keysetPage,
  keysetQuery,
  MAX_PAGE_SIZE,
  PAGE_SIZE_DIGITS,
  type PageRequest,
} from '../../src/shared/page.ts';

/**
 * What the API is compared with. The driver reads send exactly the commands the app's Mongoose
 * reads send (the `odm` phase checks it, odm.ts) and return the same views; the baseline serves
 * them from node:http, with the same JWT check and no middleware, validation library or logging
 * (two finds for a page of posts with authors: $lookup would make it one on MongoDB, but
 * FerretDB v1 lacks it, and one plan must serve both engines). Express alone (--floor) is bare
 * Express routes calling the API's own service functions. Not part of the app.
 */

const POST_FIELDS = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;
const AUTHOR_FIELDS = { username: 1 } as const;
const HEX_ID = /^[0-9a-f]{24}$/;

type Author = { _id: ObjectId; username: string };

interface PostDoc {
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

// --- The driver reads: Mongoose's commands, the API's views --------------------------------------

function postView(post: PostDoc, author: Author | undefined): PostView {
  return {
    id: post._id.toHexString(),
    body: post.body,
    timestamp: post.timestamp.toISOString(),
    tags: post.tags ?? [],
    author: author ? { id: author._id.toHexString(), username: author.username } : null,
  };
}

/** The users of `ids` by hex id, read as populate reads them (distinct ids, first seen first). */
async function usersById<U extends Author>(raw: Db, ids: ObjectId[], fields: Document) {
  const distinct = [...new Map(ids.map((id) => [id.toHexString(), id])).values()];
  const users = (await raw
    .collection('users')
    .find({ _id: { $in: distinct } }, { projection: fields })
    .toArray()) as U[];
  return new Map(users.map((u) => [u._id.toHexString(), u]));
}

async function postsOf(raw: Db, filter: Document, sort: Document, limit: number) {
  return (await raw
    .collection('posts')
    .find(filter, { projection: POST_FIELDS })
    .sort(sort)
    .limit(limit)
    .toArray()) as PostDoc[];
}

/** findPostPage's commands: the page (one extra post), then the authors of all it fetched. */
export async function driverPostPage(
  raw: Db,
  list: Keyset,
  filter: Document,
  options: PageRequest,
) {
  const page = keysetQuery(list, options);
  const posts = await postsOf(raw, { $and: [filter, page.filter] }, page.sort, page.limit);
  const authors =
    posts.length === 0
      ? new Map<string, Author>()
      : await usersById(
          raw,
          posts.map((p) => p.author),
          AUTHOR_FIELDS,
        );
  return keysetPage(list, posts, options.limit, (p) =>
    postView(p, authors.get(p.author.toHexString())),
  );
}

/** findPostView's commands: the post, then its author. */
export async function driverPostView(raw: Db, id: ObjectId): Promise<PostView> {
  const post = (await raw
    .collection('posts')
    .findOne({ _id: id }, { projection: POST_FIELDS })) as PostDoc | null;
  if (!post) throw new HttpError(404, 'post-not-found');
  const authors = await usersById(raw, [post.author], AUTHOR_FIELDS);
  return postView(post, authors.get(post.author.toHexString()));
}

/** findUserPostPage's commands: the user (populate adds its virtual's name to the projection). */
export async function driverUserPostPage(raw: Db, id: ObjectId, options: PageRequest) {
  const list = postLists.byAuthor(id.toHexString());
  const page = keysetQuery(list, options);
  const user = (await raw
    .collection('users')
    .findOne({ _id: id }, { projection: { ...AUTHOR_FIELDS, posts: 1 } })) as Author | null;
  if (!user) throw new HttpError(404, 'user-not-found');
  const filter = { author: { $in: [user._id] }, ...page.filter };
  const posts = await postsOf(raw, filter, page.sort, page.limit);
  return keysetPage(list, posts, options.limit, (p) => postView(p, user));
}

/** getFeed's commands: the followees, the page, its authors read with the reader's record. */
export async function driverFeed(raw: Db, me: ObjectId, options: PageRequest) {
  const list = postLists.feed(me.toHexString());
  const followees = (await raw
    .collection('follows')
    .distinct('followee', { follower: me })) as ObjectId[];
  const page = keysetQuery(list, options);
  const filter = { $and: [{ author: { $in: [...followees, me] } }, page.filter] };
  const posts = await postsOf(raw, filter, page.sort, page.limit);
  const shown = posts.slice(0, options.limit).map((p) => p.author);
  const authors = await usersById(raw, [me, ...shown], { username: 1, tokenVersion: 1 });
  if (!authors.has(me.toHexString())) throw new HttpError(401, 'invalid-token');
  return keysetPage(list, posts, options.limit, (p) =>
    postView(p, authors.get(p.author.toHexString())),
  );
}

// --- The baseline: node:http and the driver reads --------------------------------------------------

function objectId(raw: string | undefined): ObjectId {
  if (!raw || !HEX_ID.test(raw)) throw new HttpError(400, 'validation-failed');
  return new ObjectId(raw);
}

/** The API's paging rules: a page size of decimal digits, 1-100, given once; the cursor as given. */
function pageRequest(params: URLSearchParams): PageRequest {
  const given = params.getAll('limit');
  const cursor = params.get('cursor') ?? undefined;
  if (given.length === 0) return { limit: DEFAULT_PAGE_SIZE, cursor };
  const limit = given.length === 1 && PAGE_SIZE_DIGITS.test(given[0] ?? '') ? Number(given[0]) : 0;
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError(400, 'validation-failed');
  return { limit, cursor };
}

async function route(db: Db, tokens: TokenService, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://baseline');
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method !== 'GET') throw new HttpError(405, 'method-not-allowed');
  if (url.pathname === '/api/posts') {
    return driverPostPage(db, postLists.all({}), {}, pageRequest(url.searchParams));
  }
  if (parts[0] === 'api' && parts[1] === 'posts' && parts.length === 3) {
    return driverPostView(db, objectId(parts[2]));
  }
  if (parts[0] === 'api' && parts[1] === 'users' && parts[3] === 'posts' && parts.length === 4) {
    return driverUserPostPage(db, objectId(parts[2]), pageRequest(url.searchParams));
  }
  if (url.pathname === '/api/feed') {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match?.[1]) throw new HttpError(401, 'unauthenticated');
    const { userId } = await tokens.verify(match[1]).catch(() => {
      throw new HttpError(401, 'invalid-token');
    });
    return driverFeed(db, objectId(userId), pageRequest(url.searchParams));
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

// --- Express alone (--floor) ------------------------------------------------------------------------

/**
 * What Express 5 itself costs: the API's four measured reads as bare Express routes calling the
 * API's own service functions and answering with res.json(), with no middleware, validation,
 * rate limit, security headers or request log. Its CPU per request minus the baseline's is
 * Express's share of the API's cost, the part no change inside the app can remove.
 */
export function expressFloor(db: Database, tokens: TokenService): Express {
  const app = express();
  app.set('query parser', 'simple');
  const limit = (req: Request) => ({ limit: Number(req.query.limit ?? DEFAULT_PAGE_SIZE) });
  const reply =
    (answer: (req: Request) => Promise<unknown>): RequestHandler =>
    async (req, res) => {
      res.json(await answer(req));
    };
  app.get(
    '/api/posts',
    reply((req) => listPosts(db, limit(req))),
  );
  app.get(
    '/api/posts/:id',
    reply((req) => findPostView(db, req.params.id as string)),
  );
  app.get(
    '/api/users/:id/posts',
    reply((req) => findUserPostPage(db, req.params.id as string, limit(req))),
  );
  app.get(
    '/api/feed',
    reply(async (req) => {
      const reader = await authenticateLater(db, tokens, req.get('authorization'));
      if (!reader) throw new Error('the feed needs a token');
      return getFeed(db, reader, limit(req));
    }),
  );
  return app;
}
