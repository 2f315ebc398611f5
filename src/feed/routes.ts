import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { postPage, userPostsQuery } from '../posts/schemas.ts';
import { getFeed } from './service.ts';

export function feedRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'get',
        path: '/api/feed',
        summary: 'Posts of the users you follow and your own, newest first',
        tag: 'feed',
        auth: 'deferred',
        query: userPostsQuery,
        status: 200,
        response: postPage,
        errors: [400, 401],
      },
      ({ query, user }) => getFeed(db, user, query),
    ),
  ];
}
