import { z } from 'zod';
import { pageQueryShape, pageSchema } from '../http/schemas.ts';
import { TAG_NAME_INPUT } from './model.ts';

// Either case and surrounding whitespace are accepted, then trimmed and lower-cased: the pattern
// the document publishes is the one that checks the input.
export const tagName = z
  .string()
  .max(64)
  .regex(TAG_NAME_INPUT, 'tags are 1-32 letters, digits, _ or -, starting with a letter or digit')
  .trim()
  .toLowerCase()
  .meta({
    example: 'mongodb',
    description: 'Case-insensitive and trimmed; stored lower-case',
  });

export const tagView = z
  .object({ name: z.string(), postCount: z.number().int() })
  .meta({ id: 'Tag' });
export const tagPage = pageSchema(tagView).meta({ id: 'TagPage' });
export const tagListQuery = z.strictObject({ ...pageQueryShape });
export const tagParams = z.strictObject({ name: tagName });

export type TagView = z.infer<typeof tagView>;
