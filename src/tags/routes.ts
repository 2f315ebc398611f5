import { defineRoute } from '../http/route.ts';
import type { Database } from '../models.ts';
import { postPage } from '../posts/schemas.ts';
import { findTagPage, findTagPostPage } from './queries.ts';
import { tagListQuery, tagPage, tagParams, tagPostsQuery } from './schemas.ts';

export function tagRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'get',
        path: '/api/tags',
        summary: 'Tags in use, most used first or by name',
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
        query: tagPostsQuery,
        status: 200,
        response: postPage,
        errors: [400],
      },
      ({ params, query }) => findTagPostPage(db, params.name, query),
    ),
  ];
}
