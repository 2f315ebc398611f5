import { MongoClient } from 'mongodb';
import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { extractModelState } from '../../src/migrations/model-state.ts';
import {
  enforceMigrationPolicy,
  migrateDown,
  migrateUp,
  PendingMigrationsError,
  pendingMigrations,
} from '../../src/migrations/runner.ts';
import { watchSchema } from '../../src/migrations/schema-watch.ts';
import { connectDatabase } from '../../src/models.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { startTs } from '../helpers/process.ts';
import {
  ALL_MIGRATIONS,
  changelogNames,
  dataCollections,
  M,
  quietRun,
  useMigrationDb,
} from './helpers.ts';

const config = (env: Record<string, string>) =>
  loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });

describe('configuration of migrations and indexes', () => {
  it('MIGRATIONS_ON_START defaults to apply in development and refuse elsewhere', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).migrations.onStart).toBe('apply');
    expect(loadConfig({ NODE_ENV: 'test' }).migrations.onStart).toBe('refuse');
    const secret = 'x'.repeat(32);
    const production = { NODE_ENV: 'production', JWT_SECRET: secret, MONGODB_URI: 'mongodb://db' };
    expect(loadConfig(production).migrations.onStart).toBe('refuse');
    expect(loadConfig({ MIGRATIONS_ON_START: 'warn' }).migrations.onStart).toBe('warn');
  });

  it('MONGODB_AUTO_INDEX is off unless asked for: indexes come from migrations', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).mongo.autoIndex).toBe(false);
    expect(loadConfig({ MONGODB_AUTO_INDEX: 'true' }).mongo.autoIndex).toBe(true);
  });

  it('rejects a bad MIGRATIONS_ON_START or MIGRATION_BATCH_SIZE with one line naming it', () => {
    expect(() => loadConfig({ MIGRATIONS_ON_START: 'maybe' })).toThrow(
      /^Invalid configuration: MIGRATIONS_ON_START/,
    );
    expect(() => loadConfig({ MIGRATION_BATCH_SIZE: '0' })).toThrow(
      /^Invalid configuration: MIGRATION_BATCH_SIZE/,
    );
  });
});

describe('start-up with pending migrations', { timeout: 60_000 }, () => {
  const t = useMigrationDb('startup');
  const warnings: string[] = [];
  const log = { info: () => {}, warn: (m: string) => warnings.push(m) };
  /** What the app passes the start-up policy, with the configuration these variables give. */
  const policy = (env: Record<string, string>) => ({
    target: t.target,
    uri: t.uri,
    log,
    config: config(env),
  });
  beforeEach(async () => {
    warnings.length = 0;
  });

  it('refuse throws one line naming every pending migration and changes nothing', async () => {
    await migrateUp(t.target, quietRun({ to: M.posts }));
    const options = policy({});

    const start = enforceMigrationPolicy(options);

    await expect(start).rejects.toThrow(PendingMigrationsError);
    await expect(start).rejects.toThrow(
      `${ALL_MIGRATIONS.length - 2} pending migrations: ${ALL_MIGRATIONS.slice(2).join(', ')}; ` +
        'run `npm run migrate -- up` first (or set MIGRATIONS_ON_START=apply)',
    );
    expect(await changelogNames(t.db)).toEqual([M.users, M.posts]);
  });

  it('warn logs them and starts without applying', async () => {
    const options = policy({ MIGRATIONS_ON_START: 'warn' });

    await enforceMigrationPolicy(options);

    expect(warnings).toEqual([
      expect.stringContaining(`${ALL_MIGRATIONS.length} pending migrations`),
    ]);
    expect(await dataCollections(t.db)).toEqual([]);
  });

  it('apply runs them (a test database is not backed up) and starts', async () => {
    const options = policy({ MIGRATIONS_ON_START: 'apply' });

    await enforceMigrationPolicy(options);

    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
    expect(await pendingMigrations(t.db)).toEqual([]);
  });

  it('GET /readyz answers 503 migrations-pending while a migration is pending and 200 once none is', async () => {
    const db = await connectDatabase(t.uri, { dbName: t.name });
    const cfg = config({});
    const schema = watchSchema({
      db: t.db,
      models: extractModelState(Object.values(db.connection.models)),
      intervalMs: 60_000,
      log: { info: () => {}, warn: () => {} },
    });
    const api = supertest(createApp({ config: cfg, db, logger: createLogger('silent'), schema }));
    try {
      const notReady = await api.get('/readyz');
      await migrateUp(t.target, quietRun({ to: ALL_MIGRATIONS.at(-2) }));
      const oneLeft = await api.get('/readyz');
      await migrateUp(t.target, quietRun());
      const ready = await api.get('/readyz');

      expect(notReady.status).toBe(503);
      expect(notReady.body.error).toMatchObject({
        code: 'migrations-pending',
        message: `${ALL_MIGRATIONS.length} migrations are pending: npm run migrate -- up`,
      });
      expect(oneLeft.status).toBe(503);
      expect(oneLeft.body.error).toMatchObject({
        code: 'migrations-pending',
        message: '1 migration is pending: npm run migrate -- up',
      });
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
    } finally {
      await schema.stop();
      await db.close();
    }
  });

  it('the server started in production refuses to serve: exit 1, one stderr line naming them', async () => {
    const run = startTs('src/main.ts', [], {
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'silent',
        JWT_SECRET: 'y'.repeat(40),
        MONGODB_URI: t.uri,
        MONGODB_DB: t.name,
        PORT: '0',
      },
    });

    const result = await run.done;

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `start-up failed: ${ALL_MIGRATIONS.length} pending migrations: ${ALL_MIGRATIONS.join(', ')}; ` +
        'run `npm run migrate -- up` first (or set MIGRATIONS_ON_START=apply)',
    ]);
  });
});

describe('the schema watch behind /readyz', { timeout: 60_000 }, () => {
  const t = useMigrationDb('schema_watch');
  beforeEach(async () => {
    await migrateUp(t.target, quietRun());
  });

  it('answers /readyz within its bound while the schema reads hang, and follows the database again after', async () => {
    // The watch reads through a proxy that holds its listIndexes commands (a server that accepts
    // them and never answers); the app's own hello goes straight to the server.
    const proxy = await startFaultProxy(t.uri);
    const watched = await MongoClient.connect(proxy.uri);
    const db = await connectDatabase(t.uri, { dbName: t.name });
    const READY_WAIT_MS = 300;
    const schema = watchSchema({
      db: watched.db(t.name),
      models: extractModelState(Object.values(db.connection.models)),
      intervalMs: 200,
      readTimeoutMs: 1000,
      readyWaitMs: READY_WAIT_MS,
      log: { info: () => {}, warn: () => {} },
    });
    const api = supertest(
      createApp({ config: config({}), db, logger: createLogger('silent'), schema }),
    );
    const timedReady = async () => {
      const start = performance.now();
      const res = await api.get('/readyz').timeout(10_000);
      return { status: res.status, ms: performance.now() - start };
    };
    try {
      await schema.refresh();
      const hang = proxy.arm({ command: 'listIndexes', action: 'stall', times: 1_000_000 });
      await hang.fired;

      // Each answer comes from the last reading within the wait (plus the hello), and one
      // waiting /readyz does not hold the next.
      const answers = await Promise.all([timedReady(), timedReady(), timedReady()]);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.ms).toBeLessThan(READY_WAIT_MS + 2000);
      }

      // Once the server answers again, a change made by another process shows within polls.
      hang.disarm();
      await migrateDown(t.target, quietRun());
      await expect
        .poll(async () => (await api.get('/readyz')).body.error?.code, { timeout: 15_000 })
        .toBe('migrations-pending');
      expect(schema.writesBlocked()?.code).toBe('migrations-pending');
    } finally {
      await schema.stop();
      await db.close();
      await watched.close();
      await proxy.close();
    }
  });
});
