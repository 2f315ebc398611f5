import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { EXAMPLE_ID } from '../http/schemas.ts';
import { postListQuery, postLists, postPage } from '../posts/schemas.ts';
import { getFeed } from './service.ts';

// The example cursor is one of the feed of the document's example user.
const feedQuery = postListQuery(postLists.feed(EXAMPLE_ID));

export function feedRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'get',
        path: '/api/feed',
        summary: 'Posts of the users you follow and your own, newest first',
        tag: 'feed',
        auth: 'deferred',
        query: feedQuery,
        status: 200,
        response: postPage,
        errors: [400, 401],
      },
      ({ query, user }) => getFeed(db, user, query),
    ),
  ];
}
