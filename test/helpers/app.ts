import type { Express } from 'express';
import supertest from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/connection.ts';
import { createLogger } from '../../src/logger.ts';
import { dropTestDatabase, openTestDatabase } from './db.ts';

export interface TestApp {
  app: Express;
  db: Database;
  api: supertest.Agent;
  close(): Promise<void>;
}

/** The real app on its own test database; call close() in afterAll. */
export async function startTestApp(
  label: string,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const db = await openTestDatabase(label);
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });
  const app = createApp({ config, db, logger: createLogger(config.logLevel) });
  return { app, db, api: supertest.agent(app), close: () => dropTestDatabase(db) };
}
