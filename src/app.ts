import express, { type Express } from 'express';
import { loginRateLimits } from './auth/login-limit.ts';
import { authRoutes } from './auth/routes.ts';
import { authenticate, authenticateLater } from './auth/service.ts';
import { createTokenService, type TokenService } from './auth/tokens.ts';
import type { Config } from './config.ts';
import type { Database } from './db/connection.ts';
import { feedRoutes } from './feed/routes.ts';
import { followRoutes } from './follows/routes.ts';
import { healthRoutes } from './health/routes.ts';
import { bodyGuard, jsonBody } from './http/body-guard.ts';
import {
  type DatabaseWatch,
  databaseErrorWatch,
  databaseGuard,
  watchDatabase,
} from './http/database-guard.ts';
import { mountDocs } from './http/docs.ts';
import { errorHandler, notFoundHandler } from './http/error-handler.ts';
import { answerUnknownMethods } from './http/method-not-allowed.ts';
import { buildOpenApiDocument } from './http/openapi.ts';
import { globalRateLimit } from './http/rate-limit.ts';
import { requestLog } from './http/request-log.ts';
import { mountRoutes } from './http/route.ts';
import { corsPolicy, securityHeaders } from './http/security.ts';
import type { Logger } from './logger.ts';
import { postRoutes } from './posts/routes.ts';
import { tagRoutes } from './tags/routes.ts';
import { userRoutes } from './users/routes.ts';

export interface AppDeps {
  config: Config;
  db: Database;
  logger: Logger;
  tokens: TokenService;
  database: DatabaseWatch;
}

/** Builds the Express app around an open database; never listens (main and tests do). */
export function createApp(options: { config: Config; db: Database; logger: Logger }): Express {
  const { config } = options;
  const deps: AppDeps = {
    ...options,
    tokens: createTokenService(config.auth),
    database: watchDatabase(options.db),
  };
  const app = express();
  app.disable('x-powered-by');
  // Client addresses (rate limits, logs) come from X-Forwarded-For only behind that many proxies.
  app.set('trust proxy', config.http.trustProxyHops);
  app.set('query parser', 'simple');

  // Cheap checks first: a request refused by CORS or the rate limit costs no body parsing.
  app.use(requestLog(options.logger));
  app.use(securityHeaders());
  app.use(corsPolicy(config.http.corsOrigins));
  app.use(globalRateLimit(deps));
  app.use(jsonBody(config.http.bodyLimitBytes));
  app.use(bodyGuard);

  const routes = [
    ...healthRoutes(deps),
    ...userRoutes(deps),
    ...postRoutes(deps),
    ...authRoutes(deps),
    ...followRoutes(deps),
    ...tagRoutes(deps),
    ...feedRoutes(deps),
  ];
  // Also in app.locals, so tests can check responses against it without spending a request.
  app.locals.openApiDocument = buildOpenApiDocument(routes);
  app.get('/openapi.json', (_req, res) => {
    res.json(app.locals.openApiDocument);
  });
  mountDocs(app);
  app.use('/api', databaseGuard(deps.database));
  app.post('/api/tokens', ...loginRateLimits(deps));
  mountRoutes(app, routes, {
    now: (header) => authenticate(deps.db, deps.tokens, header),
    later: (header) => authenticateLater(deps.db, deps.tokens, header),
  });
  answerUnknownMethods(app, [
    ...routes.map((r) => r.spec),
    { method: 'get', path: '/openapi.json' },
  ]);
  app.use(notFoundHandler);
  app.use(databaseErrorWatch(deps.database));
  app.use(errorHandler);
  return app;
}
