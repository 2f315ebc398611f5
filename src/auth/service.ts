import { isValidObjectId } from 'mongoose';
import type { Database } from '../db/connection.ts';
import type { AuthUser, PendingUser } from '../shared/auth-user.ts';
import { AppError } from '../shared/errors.ts';
import { recordLastSeen } from '../users/last-seen.ts';
import { usernameKey } from '../users/model.ts';
import { type AuthRecord, findAuthRecord, findLoginRecord } from '../users/queries.ts';
import { verifyPassword } from './passwords.ts';
import type { IssuedToken, TokenClaims, TokenService } from './tokens.ts';

export type Credentials = { password: string } & ({ username: string } | { email: string });

/** How an identifier is looked up: emails are stored lower-case, usernames compared by key. */
export type LoginLookup = { email: string } | { usernameKey: string };

type LoginAccount = NonNullable<Awaited<ReturnType<typeof findLoginRecord>>>;

/**
 * The account a username or email names, in any case (the login rate limit keys on the account
 * this finds, so it must find what logIn does), and the lookup that found it or did not.
 */
export async function findLoginAccount(
  db: Database,
  credentials: Credentials,
): Promise<{ account: LoginAccount | undefined; lookup: LoginLookup }> {
  const lookup: LoginLookup =
    'email' in credentials
      ? { email: credentials.email.trim().toLowerCase() }
      : { usernameKey: usernameKey(credentials.username.trim()) };
  const account = await findLoginRecord(db, lookup);
  return { account: account ?? undefined, lookup };
}

/** Exchanges a username or email and a password for a bearer token. */
export async function logIn(
  db: Database,
  tokens: TokenService,
  credentials: Credentials,
): Promise<IssuedToken> {
  const { account: user } = await findLoginAccount(db, credentials);
  const ok = await verifyPassword(user?.passwordHash, credentials.password);
  if (!user || !ok) {
    // One answer for an unknown account and a wrong password: no account enumeration.
    throw new AppError('invalid-credentials', 'Wrong username, email or password');
  }
  return tokens.issue({ userId: String(user._id), tokenVersion: user.tokenVersion });
}

/** The claims of an Authorization header's token, checked offline; undefined without a header. */
async function verifyHeader(
  tokens: TokenService,
  authorization: string | undefined,
): Promise<TokenClaims | undefined> {
  if (authorization === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
  if (!match?.[1]) throw new AppError('invalid-token', 'Authorization must be "Bearer <token>"');
  const claims = await tokens.verify(match[1]);
  if (!isValidObjectId(claims.userId)) throw new AppError('invalid-token', 'The token is invalid');
  return claims;
}

/** The token holds only while its user exists and has not revoked it since it was issued. */
async function confirmClaims(
  db: Database,
  claims: TokenClaims,
  record: AuthRecord | undefined,
): Promise<AuthUser> {
  if (
    !record ||
    String(record._id) !== claims.userId ||
    record.tokenVersion !== claims.tokenVersion
  ) {
    throw new AppError('invalid-token', 'The token is no longer valid');
  }
  await recordLastSeen(db, record._id);
  return { id: String(record._id), username: record.username };
}

/** Resolves an Authorization header to the user it speaks for; undefined without a header. */
export async function authenticate(
  db: Database,
  tokens: TokenService,
  authorization: string | undefined,
): Promise<AuthUser | undefined> {
  const claims = await verifyHeader(tokens, authorization);
  if (!claims) return undefined;
  const record = await findAuthRecord(db, claims.userId);
  return confirmClaims(db, claims, record ?? undefined);
}

/**
 * Like authenticate, but leaves the read of the user's record to the handler, which folds it
 * into a query it makes anyway (the feed reads its authors and the reader in one command).
 * A bad signature or an expired token still fails here, before any handler runs.
 */
export async function authenticateLater(
  db: Database,
  tokens: TokenService,
  authorization: string | undefined,
): Promise<PendingUser<AuthRecord> | undefined> {
  const claims = await verifyHeader(tokens, authorization);
  if (!claims) return undefined;
  let confirmed: AuthUser | undefined;
  return {
    id: claims.userId,
    async confirm(record) {
      confirmed = await confirmClaims(db, claims, record);
      return confirmed;
    },
    get confirmed() {
      return confirmed;
    },
  };
}

/**
 * Revokes every token the user holds, the one in this request included: their `ver` claim no
 * longer matches. A new password does the same (see updateUser).
 */
export async function revokeAllTokens(db: Database, user: AuthUser): Promise<void> {
  await db.User.updateOne({ _id: user.id }, { $inc: { tokenVersion: 1 } }, { timestamps: false });
}
