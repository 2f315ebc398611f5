import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.ts';
import { textSchema } from '../http/schemas.ts';
import { USERNAME_PATTERN } from '../users/model.ts';

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
