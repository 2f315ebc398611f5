import express, { type Express, type Request, type RequestHandler } from 'express';
import { authenticateLater } from '../../src/auth/service.ts';
import type { TokenService } from '../../src/auth/tokens.ts';
import type { Database } from '../../src/db/connection.ts';
import { getFeed } from '../../src/feed/service.ts';
import { findPostView, findUserPostPage } from '../../src/posts/queries.ts';
import { listPosts } from '../../src/posts/service.ts';
import { DEFAULT_PAGE_SIZE } from '../../src/shared/page.ts';

/**
 * What Express 5 itself costs (`npm run bench -- --floor`): the API's four measured reads as
 * bare Express routes calling the API's own service functions and answering with res.json(),
 * with no middleware, validation, rate limit, security headers or request log. It answers each
 * read with the API's JSON (the bench checks). Its CPU per request minus the baseline's is
 * Express's share of the API's cost, the part no change inside the app can remove. Not part
 * of the app.
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
