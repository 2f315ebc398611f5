import type { Request, RequestHandler } from 'express';
import type { Database } from '../db/connection.ts';
import { createLimiter, type LimiterDeps } from '../http/rate-limit.ts';
import { type Credentials, findLoginAccount } from './service.ts';

/** The identifier of a login body as logIn reads it; undefined when the body names none. */
function identifierOf(req: Request): Credentials | undefined {
  const body = req.body as { email?: unknown; username?: unknown } | undefined;
  if (typeof body?.email === 'string') return { email: body.email, password: '' };
  if (typeof body?.username === 'string') return { username: body.username, password: '' };
  return undefined;
}

/**
 * The account a login attempt names, as one key for every spelling of it: `Alice`, `ALICE`,
 * `alic\u212Ae` (the Kelvin sign lower-cases to k), the email in any case all count as the
 * account's username key. An identifier that names no account counts by its case-folded form,
 * the key it would have if that account existed.
 */
async function accountKey(db: Database, req: Request): Promise<string | undefined> {
  const credentials = identifierOf(req);
  if (!credentials) return undefined;
  const { account, lookup } = await findLoginAccount(db, credentials);
  if (account) return `account:${account.usernameKey}`;
  return 'usernameKey' in lookup ? `account:${lookup.usernameKey}` : `email:${lookup.email}`;
}

/**
 * Limits failed logins (any 4xx answer to POST /api/tokens) per client address and per named
 * account, so that neither one address guessing many accounts nor many addresses guessing one
 * account get far. A successful login does not count. An unknown account is limited exactly like
 * a real one, so a 429 tells nothing about which accounts exist.
 */
export function loginRateLimits(deps: LimiterDeps & { db: Database }): RequestHandler[] {
  const { loginWindowMs, loginPerAddress, loginPerAccount } = deps.config.rateLimit;
  return [
    createLimiter(deps, {
      name: 'login-address',
      windowMs: loginWindowMs,
      limit: loginPerAddress,
      failuresOnly: true,
    }),
    createLimiter(deps, {
      name: 'login-account',
      windowMs: loginWindowMs,
      limit: loginPerAccount,
      failuresOnly: true,
      key: (req) => accountKey(deps.db, req),
    }),
  ];
}
