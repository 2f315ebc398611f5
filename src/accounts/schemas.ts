import { z } from 'zod';
import { textSchema } from '../http/schemas.ts';
import { USERNAME_PATTERN } from '../users/model.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../users/password.ts';
import { DOMAIN } from '../users/schemas.ts';

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
/**
 * An address as people have them: an RFC 5322 dot-atom local part (letters, digits and
 * !#$%&'*+/=?^_`{|}~-, dots between), @, and a domain name of letter-digit-hyphen labels ending in
 * a letters-only top-level label. `format: email` would promise more (quoted local parts like
 * "john smith"@example.com, IP literals, single-label hosts) that most mail systems refuse, so
 * the document publishes this pattern instead, and this pattern is the check.
 */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
export const EMAIL_PATTERN = `^${ATEXT}+(?:\\.${ATEXT}+)*@${DOMAIN}$`;
const email = z
  .string()
  .max(254)
  .regex(new RegExp(EMAIL_PATTERN), 'must be an email address like john@example.com')
  .meta({
    example: 'john@example.com',
    description:
      "A dot-atom address (letters, digits and !#$%&'*+/=?^_`{|}~- with dots between, then @ " +
      'and a domain name with a letters-only top-level label); unique regardless of case; ' +
      'stored lower-case',
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
