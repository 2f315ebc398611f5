import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { authRoutes } from './auth/routes.ts';
import { authenticate } from './auth/service.ts';
import { createTokenService, type TokenService } from './auth/tokens.ts';
import type { Config } from './config.ts';
import type { Database } from './db/connection.ts';
import { feedRoutes } from './feed/routes.ts';
import { followRoutes } from './follows/routes.ts';
import { mountHealth } from './health/routes.ts';
import { errorHandler, notFoundHandler } from './http/error-handler.ts';
import { buildOpenApiDocument } from './http/openapi.ts';
import { mountRoutes } from './http/route.ts';
import type { Logger } from './logger.ts';
import { postRoutes } from './posts/routes.ts';
import { tagRoutes } from './tags/routes.ts';
import { userRoutes } from './users/routes.ts';

export interface AppDeps {
  config: Config;
  db: Database;
  logger: Logger;
  tokens: TokenService;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Builds the Express app around an open database; never listens (main and tests do). */
export function createApp(options: { config: Config; db: Database; logger: Logger }): Express {
  const deps: AppDeps = { ...options, tokens: createTokenService(options.config.auth) };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: options.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id =
          typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
    }),
  );
  app.use(express.json({ limit: options.config.http.bodyLimitBytes, strict: true }));

  const routes = [
    ...userRoutes(deps),
    ...postRoutes(deps),
    ...authRoutes(deps),
    ...followRoutes(deps),
    ...tagRoutes(deps),
    ...feedRoutes(deps),
  ];
  const openApiDocument = buildOpenApiDocument(routes);
  mountHealth(app, deps.db);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  mountRoutes(app, routes, (header) => authenticate(deps.db, deps.tokens, header));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
