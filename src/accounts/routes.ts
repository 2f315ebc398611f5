import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { idParamsSchema } from '../http/schemas.ts';
import { findUserPostPage } from '../posts/queries.ts';
import { postPage, userPostsQuery } from '../posts/schemas.ts';
import { getProfile, putProfile } from '../users/profile.ts';
import { findUserPage } from '../users/queries.ts';
import {
  listUsersQuery,
  profileView,
  putProfileBody,
  userPage,
  userView,
} from '../users/schemas.ts';
import { registerBody, updateUserBody } from './schemas.ts';
import { deleteUser, getUser, registerUser, updateUser } from './service.ts';

export function accountRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'post',
        path: '/api/users',
        summary: 'Register a user',
        tag: 'users',
        auth: 'none',
        body: registerBody,
        status: 201,
        response: userView,
        errors: [400, 409, 413],
      },
      ({ body }) => registerUser(db, body),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/users',
        summary: 'List users by username',
        tag: 'users',
        auth: 'none',
        query: listUsersQuery,
        status: 200,
        response: userPage,
        errors: [400],
      },
      ({ query }) => findUserPage(db, query),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/users/:id',
        summary: 'Get a user with its post count',
        tag: 'users',
        auth: 'optional',
        params: idParamsSchema,
        status: 200,
        response: userView,
        errors: [400, 401, 404],
      },
      ({ params, user }) => getUser(db, params.id, user),
    ),
    defineRoute(
      {
        method: 'patch',
        path: '/api/users/:id',
        summary: 'Change your username, email or password',
        tag: 'users',
        auth: 'required',
        params: idParamsSchema,
        body: updateUserBody,
        status: 200,
        response: userView,
        errors: [400, 401, 403, 404, 409],
      },
      ({ params, body, user }) => updateUser(db, user, params.id, body),
    ),
    defineRoute(
      {
        method: 'delete',
        path: '/api/users/:id',
        summary: 'Delete your account and your posts',
        tag: 'users',
        auth: 'required',
        params: idParamsSchema,
        status: 204,
        errors: [400, 401, 403, 404, 409],
      },
      ({ params, user }) => deleteUser(db, user, params.id),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/users/:id/posts',
        summary: "A user's posts, newest first",
        tag: 'posts',
        auth: 'none',
        params: idParamsSchema,
        query: userPostsQuery,
        status: 200,
        response: postPage,
        errors: [400, 404],
      },
      ({ params, query }) => findUserPostPage(db, params.id, query),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/users/:id/profile',
        summary: "A user's profile",
        tag: 'users',
        auth: 'none',
        params: idParamsSchema,
        status: 200,
        response: profileView,
        errors: [400, 404],
      },
      ({ params }) => getProfile(db, params.id),
    ),
    defineRoute(
      {
        method: 'put',
        path: '/api/users/:id/profile',
        summary: 'Replace your profile (a field left out is cleared)',
        tag: 'users',
        auth: 'required',
        params: idParamsSchema,
        body: putProfileBody,
        status: 200,
        response: profileView,
        errors: [400, 401, 403, 404],
      },
      ({ params, body, user }) => putProfile(db, user, params.id, body),
    ),
  ];
}
