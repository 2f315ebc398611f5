import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../shared/errors.ts';

export type { AuthUser } from '../shared/auth-user.ts';

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
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
        if (typeof payload.sub !== 'string' || typeof payload.ver !== 'number') {
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
