import { z } from 'zod';
import { objectIdSchema, pageQueryShape, pageSchema } from '../http/schemas.ts';
import { POST_BODY_MAX } from './model.ts';

const body = z.string().trim().min(1).max(POST_BODY_MAX).meta({ example: 'my first post!' });

export const createPostBody = z.strictObject({ body });
export const updatePostBody = z.strictObject({ body });

export const listPostsQuery = z
  .strictObject({
    author: objectIdSchema.optional().meta({ description: 'Only posts by this user id' }),
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: 'Posts at or after this instant' }),
    until: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: 'Posts before this instant' }),
    ...pageQueryShape,
  })
  .refine((q) => !q.since || !q.until || new Date(q.since) < new Date(q.until), {
    message: 'since must be before until',
    path: ['since'],
  });

export const userPostsQuery = z.strictObject({ ...pageQueryShape });

export const authorView = z
  .object({ id: objectIdSchema, username: z.string() })
  .meta({ id: 'Author' });

export const postView = z
  .object({
    id: objectIdSchema,
    body: z.string(),
    timestamp: z.iso.datetime(),
    author: authorView.nullable(),
  })
  .meta({ id: 'Post' });

export const postPage = pageSchema(postView).meta({ id: 'PostPage' });

export type PostView = z.infer<typeof postView>;
