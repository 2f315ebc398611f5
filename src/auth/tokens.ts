import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../shared/errors.ts';

export interface IssuedToken {
  token: string;
  expiresAt: string;
}

export interface TokenClaims {
  userId: string;
  tokenVersion: number;
}

export interface TokenService {
  issue(claims: TokenClaims): Promise<IssuedToken>;
  verify(token: string): Promise<TokenClaims>;
}

const ISSUER = 'microblog-mongo';
/** How far a token's `iat` may lie ahead of this clock: servers' clocks differ a little. */
export const CLOCK_SKEW_SECONDS = 60;

/** HS256 bearer tokens signed with the configured secret; `ver` lets a user revoke them all. */
export function createTokenService(options: {
  jwtSecret: string;
  tokenTtlSeconds: number;
}): TokenService {
  const key = new TextEncoder().encode(options.jwtSecret);
  return {
    async issue({ userId, tokenVersion }) {
      const expiresAt = Math.floor(Date.now() / 1000) + options.tokenTtlSeconds;
      const token = await new SignJWT({ ver: tokenVersion })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(expiresAt)
        .sign(key);
      return { token, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },
    async verify(token) {
      try {
        // Every token this service issues has both: one without `exp` would never expire.
        const { payload } = await jwtVerify(token, key, {
          issuer: ISSUER,
          algorithms: ['HS256'],
          requiredClaims: ['exp', 'iat'],
        });
        if (typeof payload.sub !== 'string' || typeof payload.ver !== 'number') {
          throw new AppError('invalid-token', 'The token is invalid');
        }
        // Not jose's clockTolerance, which would also stretch `exp` by the skew.
        if ((payload.iat as number) > Date.now() / 1000 + CLOCK_SKEW_SECONDS) {
          throw new AppError('invalid-token', 'The token is invalid');
        }
        return { userId: payload.sub, tokenVersion: payload.ver };
      } catch (error) {
        if (error instanceof AppError) throw error;
        if (error instanceof errors.JWTExpired)
          throw new AppError('invalid-token', 'The token has expired');
        throw new AppError('invalid-token', 'The token is invalid');
      }
    },
  };
}
