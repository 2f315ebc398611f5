import { z } from 'zod';
import { objectIdSchema, pageQueryShape, pageSchema, textSchema } from '../http/schemas.ts';
import { ABOUT_ME_MAX } from './model.ts';

export const listUsersQuery = z.strictObject({
  sort: z.enum(['username', '-username']).default('username'),
  ...pageQueryShape,
});

export const userView = z
  .object({
    id: objectIdSchema,
    username: z.string(),
    email: z.string().optional().meta({ description: 'Only shown to the user itself' }),
    postCount: z.number().int().optional().meta({ description: 'On GET /api/users/{id}' }),
    followerCount: z.number().int().optional().meta({ description: 'On GET /api/users/{id}' }),
    followingCount: z.number().int().optional().meta({ description: 'On GET /api/users/{id}' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });

export const userPage = pageSchema(userView).meta({ id: 'UserPage' });

export type UserView = z.infer<typeof userView>;

const avatarUrl = z
  .url({ protocol: /^https?$/, hostname: z.regexes.domain })
  .max(2048)
  .meta({
    example: 'https://example.com/avatars/john.png',
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
    description:
      'An absolute http or https URL whose host is a domain name (not an IP address or localhost), at most 2048 characters',
  });

export const putProfileBody = z.strictObject({
  aboutMe: textSchema({ max: ABOUT_ME_MAX, trim: true })
    .optional()
    .meta({ description: `At most ${ABOUT_ME_MAX} characters; empty clears it` }),
  avatarUrl: avatarUrl.optional(),
});

export const profileView = z
  .object({
    aboutMe: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    lastSeen: z.iso.datetime().nullable().meta({ description: 'Updated at most once a minute' }),
  })
  .meta({ id: 'Profile' });

export type ProfileView = z.infer<typeof profileView>;
