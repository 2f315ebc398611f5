import { isValidObjectId } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { AppError } from '../shared/errors.ts';
import { recordLastSeen } from '../users/last-seen.ts';
import { verifyPassword } from './passwords.ts';
import type { AuthUser, IssuedToken, TokenService } from './tokens.ts';

export type Credentials = { password: string } & ({ username: string } | { email: string });

/** Exchanges a username or email and a password for a bearer token. */
export async function logIn(
  db: Database,
  tokens: TokenService,
  credentials: Credentials,
): Promise<IssuedToken> {
  const filter =
    'email' in credentials
      ? { email: credentials.email.trim().toLowerCase() }
      : { username: credentials.username.trim() };
  const user = await db.User.findOne(filter, { passwordHash: 1, tokenVersion: 1 }).lean();
  const ok = await verifyPassword(user?.passwordHash, credentials.password);
  if (!user || !ok) {
    // One answer for an unknown account and a wrong password: no account enumeration.
    throw new AppError('invalid-credentials', 'Wrong username, email or password');
  }
  return tokens.issue({ userId: String(user._id), tokenVersion: user.tokenVersion });
}

/** Resolves an Authorization header to the user it speaks for; undefined without a header. */
export async function authenticate(
  db: Database,
  tokens: TokenService,
  authorization: string | undefined,
): Promise<AuthUser | undefined> {
  if (authorization === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
  if (!match?.[1]) throw new AppError('invalid-token', 'Authorization must be "Bearer <token>"');
  const claims = await tokens.verify(match[1]);
  if (!isValidObjectId(claims.userId)) throw new AppError('invalid-token', 'The token is invalid');
  const user = await db.User.findById(claims.userId, {
    username: 1,
    tokenVersion: 1,
    'profile.lastSeen': 1,
  }).lean();
  if (!user || user.tokenVersion !== claims.tokenVersion) {
    throw new AppError('invalid-token', 'The token is no longer valid');
  }
  await recordLastSeen(db, user._id, user.profile?.lastSeen ?? undefined);
  return { id: String(user._id), username: user.username };
}

/**
 * Revokes every token the user holds, the one in this request included: their `ver` claim no
 * longer matches. A new password does the same (see updateUser).
 */
export async function revokeAllTokens(db: Database, user: AuthUser): Promise<void> {
  await db.User.updateOne({ _id: user.id }, { $inc: { tokenVersion: 1 } }, { timestamps: false });
}
