import express, { type Express } from 'express';
import { accountRoutes } from './accounts/routes.ts';
import { loginWhileSchemaChanges } from './auth/login-gate.ts';
import { loginRateLimits } from './auth/login-limit.ts';
import { authRoutes } from './auth/routes.ts';
import { authenticate, authenticateLater } from './auth/service.ts';
import { createTokenService } from './auth/tokens.ts';
import type { Config } from './config.ts';
import type { Database } from './db/connection.ts';
import { feedRoutes } from './feed/routes.ts';
import { followRoutes } from './follows/routes.ts';
import { healthRoutes } from './health/routes.ts';
import { bodyGuard, jsonBody } from './http/body-guard.ts';
import { databaseErrorWatch, databaseGuard, watchDatabase } from './http/database-guard.ts';
import { mountDocs } from './http/docs.ts';
import { errorHandler, notFoundHandler } from './http/error-handler.ts';
import { loadShedding } from './http/load-shedding.ts';
import { answerUnknownMethods } from './http/method-not-allowed.ts';
import { type Metrics, metricsRoute } from './http/metrics.ts';
import { buildOpenApiDocument, queryParameterNames } from './http/openapi.ts';
import { globalRateLimit, isHealthProbe } from './http/rate-limit.ts';
import { requestLog } from './http/request-log.ts';
import { mountRoutes } from './http/route.ts';
import { corsPolicy, noStore, securityHeaders } from './http/security.ts';
import { type SchemaGate, writeGate } from './http/write-gate.ts';
import type { Logger } from './logger.ts';
import { postRoutes } from './posts/routes.ts';
import { useCursorSecret } from './shared/cursor.ts';
import { tagRoutes } from './tags/routes.ts';

export interface AppOptions {
  config: Config;
  db: Database;
  logger: Logger;
  /** Whether the database is behind the code (writes wait, /readyz says so); main passes it. */
  schema?: SchemaGate;
  /** Prometheus metrics (METRICS_ENABLED): counted here, served on this port unless METRICS_PORT. */
  metrics?: Metrics;
}

/**
 * Builds the Express app around an open database; never listens (main and tests do). Each
 * part gets only what it uses; nothing is patched onto shared objects.
 */
export function createApp(options: AppOptions): Express {
  const { config, db, logger } = options;
  const tokens = createTokenService(config.auth);
  useCursorSecret(config.auth.cursorSecret);
  const database = watchDatabase(db);
  const app = express();
  app.disable('x-powered-by');
  // Client addresses (rate limits, logs) come from X-Forwarded-For only behind that many proxies.
  app.set('trust proxy', config.http.trustProxyHops);
  app.set('query parser', 'simple');

  const routes = [
    ...healthRoutes({ db, database, schema: options.schema }),
    ...accountRoutes(db),
    ...postRoutes(db),
    ...authRoutes({ db, tokens }),
    ...followRoutes(db),
    ...tagRoutes(db),
    ...feedRoutes(db),
  ];
  // Also in app.locals, so tests can check responses against it without spending a request.
  app.locals.openApiDocument = buildOpenApiDocument(routes);

  if (options.metrics) mountMetrics(app, options.metrics, config);
  // Cheap checks first: a request refused by CORS or the rate limit costs no body parsing.
  app.use(requestLog(logger, queryParameterNames(app.locals.openApiDocument)));
  app.use(securityHeaders());
  app.use(corsPolicy(config.http.corsOrigins));
  app.use(loadShedding(config.load, isHealthProbe));
  app.use(globalRateLimit({ config, db, logger }));
  // Before the body is parsed: a malformed token request's 400 is no-store too.
  app.use('/api/tokens', noStore);
  app.use(jsonBody(config.http.bodyLimitBytes));
  app.use(bodyGuard);

  app.get('/openapi.json', (_req, res) => {
    res.json(app.locals.openApiDocument);
  });
  mountDocs(app);
  app.use('/api', databaseGuard(database));
  if (options.schema) app.use('/api', writeGate(options.schema));
  app.post('/api/tokens', ...loginRateLimits({ config, db, logger }));
  mountRoutes(app, routes, {
    now: (header) => authenticate(db, tokens, header),
    later: (header) => authenticateLater(db, tokens, header),
  });
  answerUnknownMethods(app, [
    ...routes.map((r) => r.spec),
    { method: 'get', path: '/openapi.json' },
  ]);
  app.use(notFoundHandler);
  if (options.schema) app.use('/api/tokens', loginWhileSchemaChanges(db, options.schema));
  app.use(databaseErrorWatch(database));
  app.use(errorHandler);
  return app;
}

function mountMetrics(app: Express, metrics: Metrics, config: Config): void {
  app.use(metrics.track);
  // Before the rate limit: scrapes spend no client's allowance.
  if (config.metrics.port === undefined) {
    app.get('/metrics', metricsRoute(metrics, config.metrics.allow));
  }
}
