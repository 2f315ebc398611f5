import { z } from 'zod';
import { objectIdSchema, pageQueryShape, pageSchema, textSchema } from '../http/schemas.ts';
import { encodeCursor, type Keyset } from '../shared/cursor.ts';
import { ABOUT_ME_MAX } from './model.ts';

function byUsername(order: 1 | -1): Keyset {
  return {
    kind: order === 1 ? 'users:username' : 'users:-username',
    keys: [{ field: 'username', order, type: 'name' }],
  };
}
export const USER_LISTS = { username: byUsername(1), '-username': byUsername(-1) } as const;

export const listUsersQuery = z.strictObject({
  sort: z.enum(['username', '-username']).default('username').meta({ example: 'username' }),
  ...pageQueryShape(encodeCursor(USER_LISTS.username, { username: 'john' })),
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

/** A domain name of letter-digit-hyphen labels ending in a letters-only top-level label. */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
export const DOMAIN = `(?:${LABEL}\\.)+[A-Za-z]{2,63}`;

// RFC 3986's path, query and fragment characters, and a port of 0-65535.
const PCHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})";
const PORT = '(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
/** An absolute http(s) URL whose host is a domain name: the published pattern is the check. */
export const AVATAR_URL_PATTERN =
  `^[Hh][Tt][Tt][Pp][Ss]?://${DOMAIN}(?::${PORT})?(?:/${PCHAR}*)*` +
  `(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?$`;
const avatarUrl = z
  .string()
  .max(2048)
  .regex(new RegExp(AVATAR_URL_PATTERN), 'must be an http or https URL on a domain name')
  .meta({
    example: 'https://example.com/avatars/john.png',
    description:
      'An absolute http or https URL whose host is a domain name (not an IP address or ' +
      'localhost), written with the characters RFC 3986 allows (others percent-encoded), at ' +
      'most 2048 characters',
  });

export const putProfileBody = z.strictObject({
  aboutMe: textSchema({ max: ABOUT_ME_MAX, trim: true })
    .optional()
    .meta({
      description: `At most ${ABOUT_ME_MAX} characters; empty clears it`,
      example: 'Learning MongoDB the tutorial way',
    }),
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
