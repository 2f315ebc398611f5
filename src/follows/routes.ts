import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { idParamsSchema } from '../http/schemas.ts';
import { followersQuery, followingQuery, followPage } from './schemas.ts';
import { follow, listFollows, unfollow } from './service.ts';

export function followRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'put',
        path: '/api/users/:id/follow',
        summary: 'Follow a user (idempotent)',
        tag: 'follows',
        auth: 'required',
        params: idParamsSchema,
        status: 204,
        errors: [400, 401, 404, 422],
      },
      ({ params, user }) => follow(db, user, params.id),
    ),
    defineRoute(
      {
        method: 'delete',
        path: '/api/users/:id/follow',
        summary: 'Stop following a user (idempotent)',
        tag: 'follows',
        auth: 'required',
        params: idParamsSchema,
        status: 204,
        errors: [400, 401, 404, 422],
      },
      ({ params, user }) => unfollow(db, user, params.id),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/users/:id/followers',
        summary: "A user's followers, most recent first",
        tag: 'follows',
        auth: 'none',
        params: idParamsSchema,
        query: followersQuery,
        status: 200,
        response: followPage,
        errors: [400, 404],
      },
      ({ params, query }) => listFollows(db, params.id, 'followers', query),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/users/:id/following',
        summary: 'The users a user follows, most recent first',
        tag: 'follows',
        auth: 'none',
        params: idParamsSchema,
        query: followingQuery,
        status: 200,
        response: followPage,
        errors: [400, 404],
      },
      ({ params, query }) => listFollows(db, params.id, 'following', query),
    ),
  ];
}
