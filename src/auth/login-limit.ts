import type { Request, RequestHandler } from 'express';
import { createLimiter, type LimiterDeps } from '../http/rate-limit.ts';

/** The account a login attempt names, normalized as logIn looks it up. */
function accountKey(req: Request): string | undefined {
  const body = req.body as { email?: unknown; username?: unknown } | undefined;
  if (typeof body?.email === 'string') return `email:${body.email.trim().toLowerCase()}`;
  if (typeof body?.username === 'string') return `username:${body.username.trim()}`;
  return undefined;
}

/**
 * Limits failed logins (any 4xx answer to POST /api/tokens) per client address and per named
 * account, so that neither one address guessing many accounts nor many addresses guessing one
 * account get far. A successful login does not count. An unknown account is limited exactly like
 * a real one, so a 429 tells nothing about which accounts exist.
 */
export function loginRateLimits(deps: LimiterDeps): RequestHandler[] {
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
      key: accountKey,
    }),
  ];
}
