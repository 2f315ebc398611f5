import { z } from 'zod';
import { pageQueryShape, pageSchema } from '../http/schemas.ts';
import { encodeCursor, type Keyset } from '../shared/cursor.ts';
import { TAG_NAME_INPUT } from './model.ts';

export const EXAMPLE_TAG = 'mongodb';

// Either case and surrounding whitespace are accepted, then trimmed and lower-cased: the pattern
// the document publishes is the one that checks the input.
export const tagName = z
  .string()
  .max(64)
  .regex(TAG_NAME_INPUT, 'tags are 1-32 letters, digits, _ or -, starting with a letter or digit')
  .trim()
  .toLowerCase()
  .meta({
    example: EXAMPLE_TAG,
    description: 'Case-insensitive and trimmed; stored lower-case',
  });

export const tagView = z
  .object({ name: z.string(), postCount: z.number().int() })
  .meta({ id: 'Tag' });
export const tagPage = pageSchema(tagView).meta({ id: 'TagPage' });

/**
 * The two orders of /api/tags. Most used first moves a tag whenever its count changes, so a
 * paging client can miss or repeat a tag whose count changed between its requests (a tag whose
 * count holds still appears exactly once). By name, a tag's place never moves: paging meets every
 * tag in use throughout exactly once, whatever the counts do.
 */
export const TAG_LISTS = {
  '-postCount': {
    kind: 'tags',
    keys: [
      { field: 'postCount', order: -1, type: 'count' },
      { field: 'name', order: 1, type: 'name' },
    ],
  },
  name: { kind: 'tags:name', keys: [{ field: 'name', order: 1, type: 'name' }] },
} as const satisfies Record<string, Keyset>;

export const tagListQuery = z.strictObject({
  sort: z
    .enum(['-postCount', 'name'])
    .default('-postCount')
    .meta({
      example: '-postCount',
      description:
        '-postCount: most used first; a tag whose count changes while you page can be missed or ' +
        'repeated (one whose count holds still appears exactly once). name: by name, every tag ' +
        'in use throughout the paging exactly once, whatever the counts do.',
    }),
  ...pageQueryShape(encodeCursor(TAG_LISTS['-postCount'], { postCount: 3, name: EXAMPLE_TAG })),
});
export const tagParams = z.strictObject({ name: tagName });

export type TagView = z.infer<typeof tagView>;
