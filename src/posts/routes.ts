import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { idParamsSchema } from '../http/schemas.ts';
import { tagParams } from '../tags/schemas.ts';
import { findPostView, findTagPostPage } from './queries.ts';
import {
  createPostBody,
  listPostsQuery,
  postPage,
  postView,
  tagPostsQuery,
  updatePostBody,
} from './schemas.ts';
import { createPost, deletePost, listPosts, updatePost } from './service.ts';

export function postRoutes(db: Database) {
  return [
    defineRoute(
      {
        method: 'post',
        path: '/api/posts',
        summary: 'Publish a post',
        tag: 'posts',
        auth: 'required',
        body: createPostBody,
        status: 201,
        response: postView,
        errors: [400, 401, 409, 413],
      },
      ({ body, user }) => createPost(db, user, body),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/posts',
        summary: 'All posts, newest first',
        tag: 'posts',
        auth: 'none',
        query: listPostsQuery,
        status: 200,
        response: postPage,
        errors: [400],
      },
      ({ query }) => listPosts(db, query),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/posts/:id',
        summary: 'Get a post with its author',
        tag: 'posts',
        auth: 'none',
        params: idParamsSchema,
        status: 200,
        response: postView,
        errors: [400, 404],
      },
      ({ params }) => findPostView(db, params.id),
    ),
    defineRoute(
      {
        method: 'patch',
        path: '/api/posts/:id',
        summary: 'Edit your post',
        tag: 'posts',
        auth: 'required',
        params: idParamsSchema,
        body: updatePostBody,
        status: 200,
        response: postView,
        errors: [400, 401, 403, 404, 409],
      },
      ({ params, body, user }) => updatePost(db, user, params.id, body),
    ),
    defineRoute(
      {
        method: 'delete',
        path: '/api/posts/:id',
        summary: 'Delete your post',
        tag: 'posts',
        auth: 'required',
        params: idParamsSchema,
        status: 204,
        errors: [400, 401, 403, 404, 409],
      },
      ({ params, user }) => deletePost(db, user, params.id),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/api/tags/:name/posts',
        summary: "A tag's posts, newest first (an unknown tag has none)",
        tag: 'tags', // listed with the tags in the API document
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
