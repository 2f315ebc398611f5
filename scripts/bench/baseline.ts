import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Express, type Request } from 'express';
import { type Db, type Document, ObjectId } from 'mongodb';
import { authenticateLater } from '../../src/auth/service.ts';
import type { TokenService } from '../../src/auth/tokens.ts';
import type { Database } from '../../src/db/connection.ts';
import { getFeed } from '../../src/feed/service.ts';
import { statusByCode } from '../../src/http/error-handler.ts';
import { findPostView, findUserPostPage } from '../../src/posts/queries.ts';
import { type PostView, postLists } from '../../src/posts/schemas.ts';
import { listPosts } from '../../src/posts/service.ts';
import type { Keyset } from '../../src/shared/cursor.ts';
import { AppError, type ErrorCode } from '../../src/shared/errors.ts';
import {
  DEFAULT_PAGE_SIZE,
  keysetPage,
  keysetQuery,
  MAX_PAGE_SIZE,
  PAGE_SIZE_DIGITS,
  type PageRequest,
} from '../../src/shared/page.ts';

// What the API is compared with (docs/benchmarks.md): driver reads sending exactly the commands
// of the app's Mongoose reads (odm.ts checks it), served from node:http (the baseline) or Express
// alone (--floor). Two finds for a page with authors: FerretDB v1 has no $lookup.

const POST_FIELDS = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;
const AUTHOR_FIELDS = { username: 1 } as const;
const HEX_ID = /^[0-9a-f]{24}$/;

type Author = { _id: ObjectId; username: string };
const fail = (code: ErrorCode) => new AppError(code, code);

interface PostDoc {
  _id: ObjectId;
  body: string;
  timestamp: Date;
  tags?: string[];
  author: ObjectId;
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

const authorOf = (post: PostDoc) => post.author;
const viewWith = (authors: Map<string, Author>) => (post: PostDoc) =>
  postView(post, authors.get(post.author.toHexString()));

/** The users of `ids` by hex id, read as populate reads them (distinct ids, first seen first). */
async function usersById<U extends Author>(raw: Db, ids: ObjectId[], fields: Document) {
  if (ids.length === 0) return new Map<string, U>();
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
export async function driverPostPage(raw: Db, list: Keyset, filter: Document, page: PageRequest) {
  const query = keysetQuery(list, page);
  const posts = await postsOf(raw, { $and: [filter, query.filter] }, query.sort, query.limit);
  const authors = await usersById(raw, posts.map(authorOf), AUTHOR_FIELDS);
  return keysetPage(list, posts, page.limit, viewWith(authors));
}

/** findPostView's commands: the post, then its author. */
export async function driverPostView(raw: Db, id: ObjectId): Promise<PostView> {
  const post = (await raw
    .collection('posts')
    .findOne({ _id: id }, { projection: POST_FIELDS })) as PostDoc | null;
  if (!post) throw fail('post-not-found');
  return viewWith(await usersById(raw, [post.author], AUTHOR_FIELDS))(post);
}

/** findUserPostPage's commands: the user (populate adds its virtual's name to the projection). */
export async function driverUserPostPage(raw: Db, id: ObjectId, options: PageRequest) {
  const list = postLists.byAuthor(id.toHexString());
  const page = keysetQuery(list, options);
  const user = (await raw
    .collection('users')
    .findOne({ _id: id }, { projection: { ...AUTHOR_FIELDS, posts: 1 } })) as Author | null;
  if (!user) throw fail('user-not-found');
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
  const shown = posts.slice(0, options.limit).map(authorOf);
  const authors = await usersById(raw, [me, ...shown], { username: 1, tokenVersion: 1 });
  if (!authors.has(me.toHexString())) throw fail('invalid-token');
  return keysetPage(list, posts, options.limit, viewWith(authors));
}

// --- The baseline: node:http and the driver reads --------------------------------------------------

function objectId(raw: string | undefined): ObjectId {
  if (!raw || !HEX_ID.test(raw)) throw fail('validation-failed');
  return new ObjectId(raw);
}

/** The API's paging rules: a page size of decimal digits, 1-100, given once; the cursor as given. */
function pageRequest(params: URLSearchParams): PageRequest {
  const given = params.getAll('limit');
  const cursor = params.get('cursor') ?? undefined;
  if (given.length === 0) return { limit: DEFAULT_PAGE_SIZE, cursor };
  const limit = given.length === 1 && PAGE_SIZE_DIGITS.test(given[0] ?? '') ? Number(given[0]) : 0;
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw fail('validation-failed');
  return { limit, cursor };
}

async function route(db: Db, tokens: TokenService, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://baseline');
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method !== 'GET') throw fail('method-not-allowed');
  const page = () => pageRequest(url.searchParams);
  if (url.pathname === '/api/posts') return driverPostPage(db, postLists.all({}), {}, page());
  if (parts[0] === 'api' && parts[1] === 'posts' && parts.length === 3) {
    return driverPostView(db, objectId(parts[2]));
  }
  if (parts[0] === 'api' && parts[1] === 'users' && parts[3] === 'posts' && parts.length === 4) {
    return driverUserPostPage(db, objectId(parts[2]), page());
  }
  if (url.pathname === '/api/feed') {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match?.[1]) throw fail('unauthenticated');
    const invalid = () => Promise.reject(fail('invalid-token'));
    const { userId } = await tokens.verify(match[1]).catch(invalid);
    return driverFeed(db, objectId(userId), page());
  }
  throw fail('not-found');
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
        const code = error instanceof AppError ? error.code : 'internal';
        res.writeHead(statusByCode[code], { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code } }));
      },
    );
  };
}

// --- Express alone (--floor) ------------------------------------------------------------------------

/**
 * What Express 5 itself costs: the API's four measured reads as bare Express routes calling the
 * API's own service functions, without middleware, validation, rate limit, helmet or log.
 */
export function expressFloor(db: Database, tokens: TokenService): Express {
  const app = express();
  app.set('query parser', 'simple');
  const limit = (req: Request) => ({ limit: Number(req.query.limit ?? DEFAULT_PAGE_SIZE) });
  const id = (req: Request) => req.params.id as string;
  const feed = async (req: Request) => {
    const reader = await authenticateLater(db, tokens, req.get('authorization'));
    if (!reader) throw new Error('the feed needs a token');
    return getFeed(db, reader, limit(req));
  };
  const routes: [string, (req: Request) => Promise<unknown>][] = [
    ['/api/posts', (req) => listPosts(db, limit(req))],
    ['/api/posts/:id', (req) => findPostView(db, id(req))],
    ['/api/users/:id/posts', (req) => findUserPostPage(db, id(req), limit(req))],
    ['/api/feed', feed],
  ];
  for (const [path, answer] of routes) {
    app.get(path, async (req, res) => {
      res.json(await answer(req));
    });
  }
  return app;
}
