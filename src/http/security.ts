import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * helmet's headers. Its default Content-Security-Policy (scripts and styles from this origin
 * only) also fits the Swagger UI page at /docs, whose assets are served locally; the
 * upgrade-insecure-requests directive is left out because TLS is the proxy's business and the
 * directive breaks /docs on a plain-HTTP development server.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } },
  });
}

/**
 * CORS for the configured origins only. A request from any other origin gets no
 * Access-Control-Allow-* header, so browsers refuse to hand it the response. Bearer tokens, not
 * cookies, carry identity, so credentials stay off.
 */
export function corsPolicy(origins: readonly string[]): RequestHandler {
  return cors({
    origin: origins.length > 0 ? [...origins] : false,
    methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
    credentials: false,
    maxAge: 600,
  });
}

/** For answers that carry credentials (tokens): no cache, shared or private, may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};
