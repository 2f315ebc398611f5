import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { findTagPage } from './queries.ts';
import { tagListQuery, tagPage } from './schemas.ts';

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
  ];
}
