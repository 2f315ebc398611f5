import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.ts';
import { objectIdSchema, pageQueryShape, pageSchema } from '../http/schemas.ts';
import { USERNAME_PATTERN } from './model.ts';

const username = z
  .string()
  .trim()
  .min(3)
  .max(32)
  .regex(USERNAME_PATTERN, 'letters, digits, _ . and - only')
  .meta({ example: 'john' });
const email = z.string().trim().max(254).pipe(z.email()).meta({ example: 'john@example.com' });
const password = z
  .string()
  .min(PASSWORD_MIN_LENGTH)
  .max(PASSWORD_MAX_LENGTH)
  .meta({ example: 'correct horse battery' });

export const registerBody = z.strictObject({ username, email, password });

export const updateUserBody = z
  .strictObject({
    username: username.optional(),
    email: email.optional(),
    password: password.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one of username, email, password');

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
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });

export const userPage = pageSchema(userView).meta({ id: 'UserPage' });

export type UserView = z.infer<typeof userView>;
