import { z } from 'zod';
import type { Database } from '../db/connection.ts';
import { defineRoute } from '../http/route.ts';
import { codePointLength } from '../shared/text.ts';
import { PASSWORD_MAX_LENGTH } from '../users/password.ts';
import { type Credentials, logIn, revokeAllTokens } from './service.ts';
import type { TokenService } from './tokens.ts';

// One identifier: a body with both could name two accounts.
const loginBody = z
  .strictObject({
    username: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .meta({ description: 'Any case', example: 'john' }),
    email: z
      .string()
      .min(1)
      .max(254)
      .optional()
      .meta({ description: 'Any case', example: 'john@example.com' }),
    // Any password that could have been registered, controls included (older rules allowed them).
    password: z
      .string()
      .min(1)
      .refine((p) => codePointLength(p) <= PASSWORD_MAX_LENGTH, 'too long')
      .meta({ maxLength: PASSWORD_MAX_LENGTH, example: 'correct horse battery' }),
  })
  .superRefine((body, ctx) => {
    if ((body.username === undefined) === (body.email === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'send either username or email with the password, not both',
      });
    }
  })
  .transform(
    (body): Credentials =>
      body.username !== undefined
        ? { username: body.username, password: body.password }
        : { email: body.email ?? '', password: body.password },
  )
  .meta({
    oneOf: [{ required: ['username'] }, { required: ['email'] }],
    example: { username: 'john', password: 'correct horse battery' },
  });
const tokenView = z
  .object({ token: z.string(), expiresAt: z.iso.datetime() })
  .meta({ id: 'Token', description: 'Send as "Authorization: Bearer <token>"' });

export function authRoutes({ db, tokens }: { db: Database; tokens: TokenService }) {
  return [
    defineRoute(
      {
        method: 'post',
        path: '/api/tokens',
        summary: 'Log in with username or email and password',
        tag: 'auth',
        auth: 'none',
        body: loginBody,
        status: 200,
        response: tokenView,
        errors: [400, 401],
      },
      ({ body }) => logIn(db, tokens, body),
    ),
    defineRoute(
      {
        method: 'delete',
        path: '/api/tokens',
        summary: 'Log out everywhere: revoke every token of the caller, this one included',
        tag: 'auth',
        auth: 'required',
        status: 204,
        errors: [401],
      },
      ({ user }) => revokeAllTokens(db, user),
    ),
  ];
}
