import { z } from 'zod';
import {
  EXAMPLE_ID,
  instantSchema,
  objectIdSchema,
  pageQueryShape,
  pageSchema,
  textSchema,
} from '../http/schemas.ts';
import { encodeCursor, type Keyset, newestFirst, scopedTo } from '../shared/cursor.ts';
import { type Instant, parseInstant } from '../shared/instant.ts';
import { normalizeTags } from '../tags/counters.ts';
import { MAX_TAGS_PER_POST } from '../tags/model.ts';
import { EXAMPLE_TAG, tagName } from '../tags/schemas.ts';
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
    example: [EXAMPLE_TAG],
  });

export const createPostBody = z.strictObject({ body, tags: tags.optional() });
export const updatePostBody = z
  .strictObject({ body: body.optional(), tags: tags.optional() })
  .refine((b) => b.body !== undefined || b.tags !== undefined, 'give body, tags or both')
  .meta({ minProperties: 1 });

/**
 * The lists of posts, each newest first, narrowed by their parameters: a cursor of one is
 * refused by every other list, and by the same list with another author, tag, reader or filter.
 */
export const postLists = {
  all: (filters: { author?: string; since?: Instant; until?: Instant }) =>
    scopedTo(newestFirst('posts', 'timestamp'), {
      author: filters.author,
      since: filters.since?.ns.toString(),
      until: filters.until?.ns.toString(),
    }),
  byAuthor: (author: string) => scopedTo(newestFirst('user-posts', 'timestamp'), { author }),
  byTag: (tag: string) => scopedTo(newestFirst('tag-posts', 'timestamp'), { tag }),
  feed: (reader: string) => scopedTo(newestFirst('feed', 'timestamp'), { reader }),
};

const EXAMPLE_SINCE = '2024-01-01T00:00:00Z';
const EXAMPLE_UNTIL = '2025-01-01T00:00:00Z';
const EXAMPLE_POSITION = { timestamp: new Date('2024-06-01T12:00:00Z'), _id: EXAMPLE_ID };

/** The query of a list of posts, whose cursor example that list issued. */
export function postListQuery(list: Keyset) {
  return z.strictObject(pageQueryShape(encodeCursor(list, EXAMPLE_POSITION)));
}

export const listPostsQuery = z.strictObject({
  author: objectIdSchema.optional().meta({ description: 'Only posts by this user id' }),
  since: instantSchema.optional().meta({
    description:
      'Posts at or after this instant; with until, the half-open range [since, until), empty ' +
      '(an empty page) when since is not before until',
    example: EXAMPLE_SINCE,
  }),
  until: instantSchema.optional().meta({
    description: 'Posts before this instant',
    example: EXAMPLE_UNTIL,
  }),
  ...pageQueryShape(
    encodeCursor(
      postLists.all({
        author: EXAMPLE_ID,
        since: parseInstant(EXAMPLE_SINCE),
        until: parseInstant(EXAMPLE_UNTIL),
      }),
      EXAMPLE_POSITION,
    ),
  ),
});
// No rule between since and until: [since, until) is simply empty when since is not before until,
// and answers an empty page like any filter that matches nothing. A rule relating two parameters
// is one no OpenAPI schema can state, so no client generated from the document could know it.

export const userPostsQuery = postListQuery(postLists.byAuthor(EXAMPLE_ID));
export const tagPostsQuery = postListQuery(postLists.byTag(EXAMPLE_TAG));

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
