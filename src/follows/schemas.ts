import { z } from 'zod';
import { objectIdSchema, pageQueryShape, pageSchema } from '../http/schemas.ts';

export const followEntry = z
  .object({
    id: objectIdSchema,
    username: z.string(),
    since: z.iso.datetime().meta({ description: 'When the follow began' }),
  })
  .meta({ id: 'FollowEntry' });

export const followPage = pageSchema(followEntry).meta({ id: 'FollowPage' });
export const followListQuery = z.strictObject({ ...pageQueryShape });

export type FollowEntry = z.infer<typeof followEntry>;
