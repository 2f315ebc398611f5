import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { postPage, userPostsQuery } from '../posts/schemas.ts';
import { findTagPage, findTagPostPage } from './queries.ts';
import { tagListQuery, tagPage, tagParams } from './schemas.ts';

export function tagRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'get',
        path: '/api/tags',
        summary: 'Tags in use, most used first',
        tag: 'tags',
        auth: 'none',
        query: tagListQuery,
        status: 200,
        response: tagPage,
        errors: [400],
      },
      ({ query }) => findTagPage(db, query),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/tags/:name/posts',
        summary: "A tag's posts, newest first (an unknown tag has none)",
        tag: 'tags',
        auth: 'none',
        params: tagParams,
        query: userPostsQuery,
        status: 200,
        response: postPage,
        errors: [400],
      },
      ({ params, query }) => findTagPostPage(db, params.name, query),
    ),
  ];
}
