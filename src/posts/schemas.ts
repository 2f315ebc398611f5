import { z } from 'zod';
import { objectIdSchema, pageQueryShape, pageSchema, textSchema } from '../http/schemas.ts';
import { normalizeTags } from '../tags/counters.ts';
import { MAX_TAGS_PER_POST } from '../tags/model.ts';
import { tagName } from '../tags/schemas.ts';
import { POST_BODY_MAX } from './model.ts';

const body = textSchema({ max: POST_BODY_MAX, visible: true, trim: true }).meta({
  example: 'my first post!',
  description: `1-${POST_BODY_MAX} characters (code points) with at least one visible one; stored without surrounding whitespace`,
});

const tags = z
  .array(tagName)
  .max(MAX_TAGS_PER_POST)
  .transform(normalizeTags)
  .meta({
    description: `Up to ${MAX_TAGS_PER_POST} tag names; stored lower-case, without duplicates`,
  });

export const createPostBody = z.strictObject({ body, tags: tags.optional() });
export const updatePostBody = z
  .strictObject({ body: body.optional(), tags: tags.optional() })
  .refine((b) => b.body !== undefined || b.tags !== undefined, 'give body, tags or both')
  .meta({ minProperties: 1 });

export const listPostsQuery = z
  .strictObject({
    author: objectIdSchema.optional().meta({ description: 'Only posts by this user id' }),
    since: z.iso
      .datetime({ offset: true })
      .max(64)
      .optional()
      .meta({ description: 'Posts at or after this instant' }),
    until: z.iso
      .datetime({ offset: true })
      .max(64)
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
    tags: z.array(z.string()),
    author: authorView.nullable(),
  })
  .meta({ id: 'Post' });

export const postPage = pageSchema(postView).meta({ id: 'PostPage' });

export type PostView = z.infer<typeof postView>;
