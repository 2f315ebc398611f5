import { z } from 'zod';
import { EXAMPLE_ID, objectIdSchema, pageQueryShape, pageSchema } from '../http/schemas.ts';
import { encodeCursor, newestFirst, scopedTo } from '../shared/cursor.ts';

export const followEntry = z
  .object({
    id: objectIdSchema,
    username: z.string(),
    since: z.iso.datetime().meta({ description: 'When the follow began' }),
  })
  .meta({ id: 'FollowEntry' });

export const followPage = pageSchema(followEntry).meta({ id: 'FollowPage' });

/** Whose followers, or whom a user follows: a cursor pages only the list of its user. */
export const followLists = {
  followers: (user: string) => scopedTo(newestFirst('followers', 'createdAt'), { user }),
  following: (user: string) => scopedTo(newestFirst('following', 'createdAt'), { user }),
};

const EXAMPLE_EDGE = { createdAt: new Date('2024-06-01T12:00:00Z'), _id: EXAMPLE_ID };
export const followersQuery = z.strictObject(
  pageQueryShape(encodeCursor(followLists.followers(EXAMPLE_ID), EXAMPLE_EDGE)),
);
export const followingQuery = z.strictObject(
  pageQueryShape(encodeCursor(followLists.following(EXAMPLE_ID), EXAMPLE_EDGE)),
);

export type FollowEntry = z.infer<typeof followEntry>;
