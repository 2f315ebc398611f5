import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.ts';
import { objectIdSchema, pageQueryShape, pageSchema, textSchema } from '../http/schemas.ts';
import { ABOUT_ME_MAX, USERNAME_PATTERN } from './model.ts';

const username = z
  .string()
  .min(3)
  .max(32)
  .regex(USERNAME_PATTERN, 'letters, digits, _ . and -, with at least one letter or digit')
  .meta({
    example: 'john',
    description:
      'Unique regardless of case (John and john are one name); the spelling given is kept',
  });
const email = z.email().max(254).meta({
  example: 'john@example.com',
  description: 'Unique regardless of case; stored lower-case',
});
const password = textSchema({ min: PASSWORD_MIN_LENGTH, max: PASSWORD_MAX_LENGTH }).meta({
  example: 'correct horse battery',
});

export const registerBody = z.strictObject({ username, email, password });

export const updateUserBody = z
  .strictObject({
    username: username.optional(),
    email: email.optional(),
    password: password.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one of username, email, password')
  .meta({ minProperties: 1 });

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
