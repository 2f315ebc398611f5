import type { Express } from 'express';
import type { DestinationStream } from 'pino';
import supertest from 'supertest';
import { afterAll, beforeAll } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/connection.ts';
import { createLogger } from '../../src/logger.ts';
import { startTagReconciler, type TagReconciler } from '../../src/tags/reconciler.ts';
import { dropTestDatabase, openTestDatabase } from './db.ts';
import { checkedAgent, OpenApiChecker } from './openapi-check.ts';

export interface TestApp {
  app: Express;
  db: Database;
  /** The API process's tag reconciler, as main starts it (stopped by close()). */
  reconciler: TagReconciler;
  /** Every response received through it is checked against the app's /openapi.json. */
  api: supertest.Agent;
  close(): Promise<void>;
}

// Generous limits unless a test sets its own: suites send many requests from one address, and
// only the rate-limit and load tests are about the limits. No lag check: a busy CI machine lags.
const TEST_LIMITS = {
  // The tag reconciler runs when a counter write fails; its periodic passes would add commands
  // to the tests that count them, so they are rare unless a test asks for them.
  TAG_RECONCILE_INTERVAL_MS: '3600000',
  TAG_FULL_CHECK_INTERVAL_MS: '0',
  RATE_LIMIT_MAX: '100000',
  MAX_IN_FLIGHT_PER_CLIENT: '10000',
  MAX_IN_FLIGHT: '100000',
  MAX_EVENT_LOOP_LAG_MS: '0',
  LOGIN_RATE_LIMIT_PER_ACCOUNT: '10000',
  LOGIN_RATE_LIMIT_PER_ADDRESS: '10000',
};

export interface AppOptions {
  /** Another app's database (that app's close() drops it, or the file's own teardown). */
  db?: Database;
  /** How to open the app's own test database, when `db` is not given. */
  connect?: Parameters<typeof openTestDatabase>[1];
  /** Receives the JSON log lines. */
  logs?: DestinationStream;
}

/**
 * The real app on its own test database; the caller closes it. Test files use useTestApp; this
 * is for an app that lives inside one test (a second app on the same database, other settings).
 */
export async function startTestApp(
  label: string,
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<TestApp> {
  const db = options.db ?? (await openTestDatabase(label, options.connect));
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...TEST_LIMITS, ...env });
  const app = createApp({ config, db, logger: createLogger(config.logLevel, options.logs) });
  // The object /openapi.json serves, as JSON (reading it does not count against rate limits).
  const document = JSON.parse(JSON.stringify(app.locals.openApiDocument));
  const api = checkedAgent(supertest.agent(app), new OpenApiChecker(document));
  const reconciler = startTagReconciler({
    db,
    logger: createLogger('silent'),
    intervalMs: config.tags.reconcileIntervalMs,
    fullCheckIntervalMs: config.tags.fullCheckIntervalMs,
  });
  const close = async () => {
    await reconciler.stop();
    if (!options.db) await dropTestDatabase(db);
  };
  return { app, db, reconciler, api, close };
}

/**
 * The test file's (or the describe block's) app: started before its tests, its database dropped
 * after them, both tied to the vitest hooks of the scope that calls it. Its fields are read in
 * tests and hooks, not while the file is collected. `options` may be a function, run in the
 * set-up hook: called after the hooks registered before useTestApp (a database the file's own
 * set-up opened: a proxy, an engine of its own); it returns null when there is nothing to test
 * against (the file skips its tests).
 */
export function useTestApp(
  label: string,
  env: Record<string, string> = {},
  options: AppOptions | (() => AppOptions | null | Promise<AppOptions | null>) = {},
): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    const resolved = typeof options === 'function' ? await options() : options;
    if (resolved) started = await startTestApp(label, env, resolved);
  });
  afterAll(async () => {
    await started?.close();
  });
  const current = (): TestApp => {
    if (!started) throw new Error(`useTestApp(${label}): the app starts in beforeAll`);
    return started;
  };
  return {
    get app() {
      return current().app;
    },
    get db() {
      return current().db;
    },
    get api() {
      return current().api;
    },
    get reconciler() {
      return current().reconciler;
    },
    close: () => current().close(),
  };
}
