import { readdirSync } from 'node:fs';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import {
  type DownOptions,
  MIGRATIONS_DIR,
  migrateUp,
  type UpOptions,
} from '../../src/migrations/runner.ts';
import { dropTestDb, testDbName } from '../helpers/db.ts';
import { type RunningProcess, startTs, unstamped } from '../helpers/process.ts';
import { type SpawnedApp, spawnApp } from '../helpers/spawn-app.ts';

/** Every migration file, in order (what migrate-mongo runs). */
export const ALL_MIGRATIONS = readdirSync(MIGRATIONS_DIR)
  .filter((name) => name.endsWith('.js') && name !== 'sample-migration.js')
  .sort();

/** The migration file whose name ends with `-<name>.js` (newer files are found, not hard-coded). */
export function migrationNamed(name: string): string {
  const file = ALL_MIGRATIONS.find((n) => n.endsWith(`-${name}.js`));
  if (!file) throw new Error(`no migration named ${name}`);
  return file;
}

export const M = {
  users: '20240105090000-create-users.js',
  posts: '20240112090000-create-posts.js',
  rename: '20240301090000-rename-nickname-to-username.js',
  timestamps: '20240315090000-backfill-user-timestamps.js',
  follows: '20240402090000-create-follows.js',
  tags: '20240416090000-add-post-tags.js',
  usernames: '20240501090000-case-insensitive-usernames.js',
} as const;

export interface MigrationTestDb {
  uri: string;
  name: string;
  client: MongoClient;
  db: Db;
  /** The target the runner takes. */
  target: { client: MongoClient; db: Db };
  drop(): Promise<void>;
}

/** A fresh, empty test_* database with its own client (the runner works on driver objects). */
export async function openMigrationDb(label: string): Promise<MigrationTestDb> {
  const uri = inject('mongoUri');
  const name = testDbName(`mig_${label}`);
  const client = await MongoClient.connect(uri);
  const db = client.db(name);
  return {
    uri,
    name,
    client,
    db,
    target: { client, db },
    async drop() {
      await dropTestDb(client, name);
      await client.close();
    },
  };
}

/**
 * The set-up every migration test file shares: a fresh database opened before each test (or,
 * with scope 'describe', once for the describe block it is called in) and dropped after it.
 * Read its fields inside tests and hooks; hooks the file registers after this call run after the
 * database is open and before it is dropped.
 */
export function useMigrationDb(
  label: string,
  scope: 'test' | 'describe' = 'test',
): MigrationTestDb {
  let opened: MigrationTestDb | undefined;
  const [before, after] = scope === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    opened = await openMigrationDb(label);
  });
  after(async () => {
    await opened?.drop();
    opened = undefined;
  });
  const current = (): MigrationTestDb => {
    if (!opened) throw new Error(`useMigrationDb(${label}): the database opens in a hook`);
    return opened;
  };
  return {
    get uri() {
      return current().uri;
    },
    get name() {
      return current().name;
    },
    get client() {
      return current().client;
    },
    get db() {
      return current().db;
    },
    get target() {
      return current().target;
    },
    drop: () => current().drop(),
  };
}

/**
 * The API as a real process (`MIGRATIONS_ON_START=refuse`, plus `env`) on the test database,
 * fully migrated first; started before each test (or, with scope 'describe', once for the block)
 * and stopped after it. Read `base` (its address) inside tests and later hooks.
 */
export function useMigratedApp(
  t: MigrationTestDb,
  env: Record<string, string>,
  scope: 'test' | 'describe' = 'test',
): { readonly base: string; readonly app: SpawnedApp } {
  let app: SpawnedApp | undefined;
  let base = '';
  const [before, after] = scope === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    await migrateUp(t.target, quietRun());
    app = spawnApp({
      MONGODB_URI: t.uri,
      MONGODB_DB: t.name,
      MIGRATIONS_ON_START: 'refuse',
      ...env,
    });
    base = `http://127.0.0.1:${await app.listening(60_000)}`;
  });
  after(async () => {
    app?.child.kill('SIGTERM');
    await app?.exited;
  });
  return {
    get base() {
      return base;
    },
    get app() {
      if (!app) throw new Error('useMigratedApp: the app starts in a hook');
      return app;
    },
  };
}

/**
 * Runs of the whole history over 1000 users: on FerretDB v1 every per-user rewrite (timestamps,
 * username keys) scans the collection per update, minutes in all on a loaded machine.
 */
export const WHOLE_HISTORY_MS = 600_000;

/**
 * The lock wait of two runs racing on one database: the second waits for the whole run of the
 * first (on FerretDB on a loaded 2-core machine the migrations outlasted the default 60 s).
 */
export const RACE_WAIT = { MIGRATION_LOCK_WAIT_SECONDS: '600' };

/** A database two runs can race on: the first two migrations applied, 300 users to rewrite. */
export async function prepareRace(t: MigrationTestDb): Promise<void> {
  await migrateUp(t.target, quietRun({ to: M.posts }));
  await seedUsers(t.db, 300, 'nickname');
}

/** The `applied <file>` lines of two racing runs together, sorted: each migration once. */
export function appliedByEither(first: string, second: string): string[] {
  const appliedBy = (out: string) => out.match(/^applied \S+\.js/gm) ?? [];
  return [...appliedBy(first), ...appliedBy(second)].sort();
}

/** A command's output as lines, without the time at the start of each (empty lines dropped). */
export const outputLines = (text: string): string[] => unstamped(text).split('\n').filter(Boolean);

/** Runner options for tests: no lock wait, no output. */
export function quietRun(
  overrides: Partial<UpOptions & DownOptions> = {},
): UpOptions & DownOptions {
  return {
    command: 'test',
    lockWaitMs: 0,
    log: () => {},
    ...overrides,
    batch: { onProgress: () => {}, ...overrides.batch },
  };
}

/**
 * `up` to a migration that crashes (an aborted signal) once `crashAt` documents are done, in
 * batches of `batchSize`: the run a killed deploy would leave. Resolves to the rejected run.
 */
export function upInterruptedAt(
  target: Parameters<typeof migrateUp>[0],
  to: string,
  { batchSize, crashAt }: { batchSize: number; crashAt: number },
): ReturnType<typeof migrateUp> {
  const abort = new AbortController();
  return migrateUp(
    target,
    quietRun({
      to,
      batch: {
        batchSize,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.done >= crashAt) abort.abort(new Error('simulated crash'));
        },
      },
    }),
  );
}

/** `npm run migrate -- <args>`, run as `node scripts/migrate.ts` (npm adds nothing but start-up time). */
export function startMigrate(
  db: MigrationTestDb,
  args: string[],
  env: Record<string, string> = {},
): RunningProcess {
  return startTs('scripts/migrate.ts', args, {
    env: { LOG_LEVEL: 'silent', MONGODB_URI: db.uri, MONGODB_DB: db.name, ...env },
  });
}

export function migrate(db: MigrationTestDb, args: string[], env: Record<string, string> = {}) {
  return startMigrate(db, args, env).done;
}

/** Names of the collections that hold data (not the migration bookkeeping). */
export async function dataCollections(db: Db): Promise<string[]> {
  const all = await db.listCollections({}, { nameOnly: true }).toArray();
  return all
    .map((c) => c.name)
    .filter((name) => name !== 'changelog' && name !== 'migrations_lock')
    .sort();
}

/** A collection's documents by id, to compare each document before and after a migration. */
export async function documentsById(db: Db, collection: string) {
  const docs = await db.collection(collection).find().toArray();
  return new Map(docs.map((doc) => [String(doc._id), doc]));
}

export async function indexNames(db: Db, collection: string): Promise<string[]> {
  return (await db.collection(collection).indexes()).map((i) => String(i.name)).sort();
}

export async function changelogNames(db: Db): Promise<string[]> {
  const entries = await db.collection('changelog').find().toArray();
  return entries.map((e) => String(e.fileName)).sort();
}

/** Inserts users in the shape of a given era: 2012's `nickname` or today's `username`. */
export async function seedUsers(
  db: Db,
  count: number,
  field: 'nickname' | 'username',
  extra: (i: number) => Record<string, unknown> = () => ({}),
): Promise<void> {
  for (let start = 0; start < count; start += 5000) {
    const docs = Array.from({ length: Math.min(5000, count - start) }, (_, k) => {
      const i = start + k;
      return {
        [field]: `user${i}`,
        email: `user${i}@example.com`,
        passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${i}`,
        tokenVersion: 0,
        ...extra(i),
      };
    });
    await db.collection('users').insertMany(docs);
  }
}

let announced = false;

/**
 * How many documents the transformation tests seed: 5000 where updates are cheap. FerretDB v1
 * (SQLite) scans the collection for every update, so a transformation there is quadratic in the
 * documents (docs/operations.md, "FerretDB v1 as seen here"): it gets 1000.
 */
export async function seedSize(db: Db): Promise<number> {
  const info = await db.command({ buildInfo: 1 });
  if (typeof info.ferretdbVersion !== 'string') return 5000;
  if (!announced) {
    console.log('FerretDB: transformation tests seed 1000 documents, not 5000 (updates scan)');
    announced = true;
  }
  return 1000;
}
