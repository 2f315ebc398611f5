import { z } from 'zod';
import { pageQueryShape, pageSchema } from '../http/schemas.ts';
import { tagName } from '../posts/schemas.ts';

export const tagView = z
  .object({ name: z.string(), postCount: z.number().int() })
  .meta({ id: 'Tag' });
export const tagPage = pageSchema(tagView).meta({ id: 'TagPage' });
export const tagListQuery = z.strictObject({ ...pageQueryShape });
export const tagParams = z.strictObject({ name: tagName });

export type TagView = z.infer<typeof tagView>;
