import type { Express } from 'express';
import type { DestinationStream } from 'pino';
import supertest from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { Database } from '../../src/models.ts';
import { dropTestDatabase, openTestDatabase } from './db.ts';
import { checkedAgent, OpenApiChecker } from './openapi-check.ts';

export interface TestApp {
  app: Express;
  db: Database;
  /** Every response received through it is checked against the app's /openapi.json. */
  api: supertest.Agent;
  close(): Promise<void>;
}

// Generous limits unless a test sets its own: suites send many requests from one address, and
// only the rate-limit tests are about the limits.
const TEST_LIMITS = {
  RATE_LIMIT_MAX: '100000',
  LOGIN_RATE_LIMIT_PER_ACCOUNT: '10000',
  LOGIN_RATE_LIMIT_PER_ADDRESS: '10000',
};

/**
 * The real app on its own test database; call close() in afterAll. `db` shares another app's
 * database (that app's close() drops it); `logs` receives the JSON log lines.
 */
export async function startTestApp(
  label: string,
  env: Record<string, string> = {},
  options: { db?: Database; logs?: DestinationStream } = {},
): Promise<TestApp> {
  const db = options.db ?? (await openTestDatabase(label));
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...TEST_LIMITS, ...env });
  const app = createApp({ config, db, logger: createLogger(config.logLevel, options.logs) });
  // The object /openapi.json serves, as JSON (reading it does not count against rate limits).
  const document = JSON.parse(JSON.stringify(app.locals.openApiDocument));
  const api = checkedAgent(supertest.agent(app), new OpenApiChecker(document));
  const close = options.db ? async () => {} : () => dropTestDatabase(db);
  return { app, db, api, close };
}
