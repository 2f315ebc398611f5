import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { postPage } from '../posts/schemas.ts';
import { tagListQuery, tagPage, tagParams, tagPostsQuery } from './schemas.ts';
import { listTagPosts, listTags } from './service.ts';

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
      ({ query }) => listTags(db, query),
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
      ({ params, query }) => listTagPosts(db, params.name, query),
    ),
  ];
}
