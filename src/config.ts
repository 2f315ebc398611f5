import { ConnectionString } from 'mongodb-connection-string-url';
import { z } from 'zod';

const DEV_SECRET_NOTE = 'development-only-secret-do-not-use-in-production';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** A setting: the environment variable and its schema. The config's shape is this table's. */
type Setting<T extends z.ZodType = z.ZodType> = readonly [name: string, type: T];
/** A value computed from the parsed environment (keyed by variable name). */
type Derived<R = unknown> = (env: Readonly<Record<string, unknown>>) => R;
interface Table {
  readonly [key: string]: Setting | Derived | Table;
}
type Built<T> = {
  readonly [K in keyof T]: T[K] extends Setting<infer S>
    ? z.output<S>
    : T[K] extends Derived<infer R>
      ? R
      : Built<T[K]>;
};
const set = <T extends z.ZodType>(name: string, type: T): Setting<T> => [name, type];

/** Every setting, grouped as the app reads it; `.env.example` documents each variable. */
const settings = {
  /** development | test | production. Production requires JWT_SECRET and MONGODB_URI. */
  env: set('NODE_ENV', z.enum(['development', 'test', 'production']).default('development')),
  /** Interface the HTTP server binds to. */
  host: set('HOST', z.string().min(1).default('127.0.0.1')),
  /** TCP port of the HTTP server (0 picks a free one). */
  port: set('PORT', int(0, 65535).default(3000)),
  mongo: {
    /** MongoDB connection string. Unset: start the embedded engine (see EMBEDDED_ENGINE). */
    uri: set(
      'MONGODB_URI',
      z
        .string()
        .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URI')
        .optional(),
    ),
    /** MONGODB_DB: database name. Unset: the one in MONGODB_URI's path, else `microblog`. */
    dbName: (e) =>
      (e.MONGODB_DB as string | undefined) ??
      databaseInUri(e.MONGODB_URI as string | undefined) ??
      'microblog',
    /** Maximum connections in the driver's pool. */
    poolSize: set('MONGODB_POOL_SIZE', int(1, 500).default(20)),
    /** How long an operation waits for a reachable server before failing (ms). */
    serverSelectionTimeoutMS: set(
      'MONGODB_SERVER_SELECTION_TIMEOUT_MS',
      int(100, 120_000).default(5000),
    ),
    /**
     * How long opening a connection (TCP and hello) may take (ms); the server monitor's checks
     * too, so one hung handshake holds recovery after an outage this long (30 s by default).
     */
    connectTimeoutMS: set('MONGODB_CONNECT_TIMEOUT_MS', int(100, 120_000).default(10_000)),
    /**
     * How long a command may wait for the server's reply (ms): past it the driver closes that
     * connection and the request gets 503. Set it above the slowest command the API sends.
     */
    socketTimeoutMS: set('MONGODB_SOCKET_TIMEOUT_MS', int(100, 600_000).default(3000)),
    /** How long an operation may wait for a pooled connection (ms); past it: 503 overloaded. */
    waitQueueTimeoutMS: set('MONGODB_WAIT_QUEUE_TIMEOUT_MS', int(100, 120_000).default(1000)),
    /** Build missing indexes from the schemas at start-up. Off: migrations own indexes. */
    autoIndex: set('MONGODB_AUTO_INDEX', bool.default(false)),
    replication: {
      writeConcern: {
        /** `majority` or a member count; 0 (unacknowledged) is refused. */
        w: set(
          'MONGODB_WRITE_CONCERN',
          z
            .string()
            .regex(/^(majority|[1-9]|[1-4][0-9]|50)$/, 'must be majority or a member count (1-50)')
            .default('majority')
            .transform((w) => (w === 'majority' ? w : Number(w))),
        ),
        /** Acknowledge only after the write is in the on-disk journal. */
        journal: set('MONGODB_WRITE_JOURNAL', bool.default(true)),
        /** How long a write waits for its members before it fails (503; it may still replicate). */
        wtimeoutMS: set('MONGODB_WRITE_TIMEOUT_MS', int(100, 120_000).default(10_000)),
      },
      /** linearizable and snapshot are refused: transactions reject the first, plain reads the second. */
      readConcern: set(
        'MONGODB_READ_CONCERN',
        z.enum(['majority', 'local', 'available']).default('majority'),
      ),
      /** Read preference of the list reads; every other read stays on the primary. */
      listReadPreference: set(
        'MONGODB_LIST_READ_PREFERENCE',
        z
          .enum(['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest'])
          .default('primary'),
      ),
      /** The driver retries a write once after a failover or network error. */
      retryWrites: set('MONGODB_RETRY_WRITES', bool.default(true)),
      /** The driver retries a read once after a failover or network error. */
      retryReads: set('MONGODB_RETRY_READS', bool.default(true)),
    },
    /**
     * Rules of the server that its identity does not tell (unset: MongoDB keeps them, FerretDB v1
     * does not); false where `npm run doctor` says the server breaks them.
     */
    engineRules: {
      atomicUpdates: set('MONGODB_ATOMIC_UPDATES', bool.optional()),
      atomicUpserts: set('MONGODB_ATOMIC_UPSERTS', bool.optional()),
    },
  },
  embedded: {
    /** auto: a local mongod, else a downloaded one, else FerretDB from .tools/bin. */
    engine: set('EMBEDDED_ENGINE', z.enum(['auto', 'mongod', 'ferretdb']).default('auto')),
    /** Where the embedded engine keeps its files (relative: to the project root). */
    dataDir: set('EMBEDDED_DATA_DIR', z.string().min(1).default('.data/embedded')),
    /** Fixed, so every command finds the running engine; 27117 is clear of mongod's 27017-27019. */
    port: set('EMBEDDED_PORT', int(1, 65535).default(27117)),
  },
  auth: {
    /** JWT_SECRET: HMAC secret for bearer tokens, at least 32 characters; required in production. */
    jwtSecret: (e) => (e.JWT_SECRET as string | undefined) ?? DEV_SECRET_NOTE,
    /** Seals the pagination cursors (src/shared/cursor.ts); unset: the development key. */
    cursorSecret: set(
      'JWT_SECRET',
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    /** Lifetime of a bearer token in seconds. */
    tokenTtlSeconds: set('TOKEN_TTL_SECONDS', int(60, 30 * 24 * 3600).default(3600)),
  },
  http: {
    /** Largest accepted JSON body, in bytes. */
    bodyLimitBytes: set('BODY_LIMIT_BYTES', int(1024, 10 * 1024 * 1024).default(100 * 1024)),
    /** How long a client may take to send its whole request (ms); past it: 408 (requestTimeout). */
    requestTimeoutMs: set('HTTP_REQUEST_TIMEOUT_MS', int(1000, 600_000).default(30_000)),
    /** Browser origins allowed to call the API (CORS), comma-separated; empty: none. */
    corsOrigins: set(
      'CORS_ORIGINS',
      list
        .pipe(
          z.array(
            z
              .url({ protocol: /^https?$/ })
              .regex(/^https?:\/\/[^/?#]+$/, 'scheme://host[:port] only'),
          ),
        )
        .default([]),
    ),
    /** Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none). */
    trustProxyHops: set('TRUST_PROXY_HOPS', int(0, 10).default(0)),
  },
  load: {
    /** Requests one client address may have in flight; more get 429 at once. */
    maxInFlightPerClient: set('MAX_IN_FLIGHT_PER_CLIENT', int(1, 10_000).default(8)),
    /** Requests the process may have in flight; more are shed with 503 overloaded. */
    maxInFlight: set('MAX_IN_FLIGHT', int(1, 100_000).default(256)),
    /** Event-loop lag (ms) above which new requests are shed with 503; 0 turns the check off. */
    maxEventLoopLagMs: set('MAX_EVENT_LOOP_LAG_MS', int(0, 60_000).default(500)),
  },
  rateLimit: {
    /** memory (one instance) or mongodb (shared by instances). */
    store: set('RATE_LIMIT_STORE', z.enum(['memory', 'mongodb']).default('memory')),
    /** Window of the global per-address rate limit (ms), and requests per window. */
    windowMs: set('RATE_LIMIT_WINDOW_MS', int(1000, 86_400_000).default(60_000)),
    max: set('RATE_LIMIT_MAX', int(1, 1_000_000).default(300)),
    /** Window of the failed-login limits (ms), per account (username or email) and per address. */
    loginWindowMs: set('LOGIN_RATE_LIMIT_WINDOW_MS', int(1000, 86_400_000).default(900_000)),
    loginPerAccount: set('LOGIN_RATE_LIMIT_PER_ACCOUNT', int(1, 100_000).default(10)),
    loginPerAddress: set('LOGIN_RATE_LIMIT_PER_ADDRESS', int(1, 100_000).default(50)),
  },
  tags: {
    /** How often the API recounts the tags whose counter write failed (ms). */
    reconcileIntervalMs: set('TAG_RECONCILE_INTERVAL_MS', int(100, 3_600_000).default(10_000)),
    /** How often the API compares every tag's count with its posts (ms; 0: never). */
    fullCheckIntervalMs: set(
      'TAG_FULL_CHECK_INTERVAL_MS',
      z.coerce
        .number()
        .int()
        .refine(
          (v) => v === 0 || (v >= 1000 && v <= 7 * 24 * 3_600_000),
          'must be 0 or 1000-604800000',
        )
        .default(3_600_000),
    ),
  },
  lifecycle: {
    /** V8's --heap-growing-percent for the API (0: V8's own); docs/benchmarks.md has the effect. */
    heapGrowingPercent: set('HEAP_GROWING_PERCENT', int(0, 400).default(50)),
    /** How long in-flight requests may take to finish after SIGTERM/SIGINT (ms). */
    shutdownTimeoutMs: set('SHUTDOWN_TIMEOUT_MS', int(100, 600_000).default(10_000)),
    /** Connection attempts at start-up, and the first wait (ms; doubles, at most 30 s). */
    connectAttempts: set('MONGODB_CONNECT_ATTEMPTS', int(1, 1000).default(10)),
    connectBackoffMs: set('MONGODB_CONNECT_BACKOFF_MS', int(10, 30_000).default(500)),
  },
  backup: {
    /** Folder for backup archives and manifests. */
    dir: set('BACKUP_DIR', z.string().min(1).default('backups')),
    keep: {
      /** The newest N good backups are never pruned, whatever their dates. */
      last: set('BACKUP_KEEP_LAST', int(1, 1000).default(3)),
      /** Newest backup of each of the last N days / ISO weeks / months that have one. */
      daily: set('BACKUP_KEEP_DAILY', int(0, 1000).default(7)),
      weekly: set('BACKUP_KEEP_WEEKLY', int(0, 1000).default(4)),
      monthly: set('BACKUP_KEEP_MONTHLY', int(0, 1000).default(12)),
      /** Backups taken before a migration are kept at least this many days. */
      preMigrationDays: set('BACKUP_KEEP_PRE_MIGRATION_DAYS', int(7, 3650).default(30)),
    },
    /** Shell command run when backup or backup:verify fails (alerting from cron). */
    onFailure: set('BACKUP_ON_FAILURE', z.string().min(1).optional()),
    /** backup:status exits non-zero when the newest good backup is older than this. */
    maxAgeHours: set(
      'BACKUP_MAX_AGE_HOURS',
      z.coerce
        .number()
        .positive()
        .max(24 * 366)
        .default(26),
    ),
    /** mongodump / mongorestore to run; default: PATH, then .tools/bin. */
    mongodumpPath: set('MONGODUMP_PATH', z.string().min(1).optional()),
    mongorestorePath: set('MONGORESTORE_PATH', z.string().min(1).optional()),
  },
  migrations: {
    /** MIGRATIONS_ON_START: refuse, apply or warn (default: apply in development, else refuse). */
    onStart: (e): 'refuse' | 'apply' | 'warn' =>
      (e.MIGRATIONS_ON_START as 'refuse' | 'apply' | 'warn' | undefined) ??
      (e.NODE_ENV === 'development' ? 'apply' : 'refuse'),
    /** Documents per bulkWrite batch in data migrations. */
    batchSize: set('MIGRATION_BATCH_SIZE', int(1, 100_000).default(1000)),
    /** How long a run waits for another run's lock before failing (s). */
    lockWaitSeconds: set('MIGRATION_LOCK_WAIT_SECONDS', int(0, 3600).default(60)),
    /** How long a schema change waits for live APIs to stop writing (s). */
    ackWaitSeconds: set('MIGRATION_ACK_WAIT_SECONDS', int(1, 600).default(30)),
    /** Back up a non-test database before applying migrations. */
    backup: set('MIGRATION_BACKUP', bool.default(true)),
    /** How often the API re-reads the migration state for unannounced changes (s). */
    watchSeconds: set('MIGRATIONS_WATCH_SECONDS', int(1, 300).default(2)),
  },
  /** pino log level. */
  logLevel: set(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  /** auto: pretty lines on a terminal, JSON otherwise; or json | pretty. */
  logFormat: set('LOG_FORMAT', z.enum(['auto', 'json', 'pretty']).default('auto')),
  metrics: {
    /** Prometheus metrics at /metrics (see docs/operations.md). */
    enabled: set('METRICS_ENABLED', bool.default(false)),
    /** A listener of its own at METRICS_HOST:METRICS_PORT (unset: the API's port). */
    port: set('METRICS_PORT', int(0, 65535).optional()),
    host: set('METRICS_HOST', z.string().min(1).default('127.0.0.1')),
    /** On the API's port, the socket addresses (not X-Forwarded-For) that may read /metrics. */
    allow: set('METRICS_ALLOW', list.default(['127.0.0.1', '::1', '::ffff:127.0.0.1'])),
  },
} satisfies Table;

/** Variables read only by a derived value. */
const alsoRead = {
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only')
    .refine((name) => !isSystemDatabase(name), 'names a system database (admin, local, config)')
    .optional(),
  MIGRATIONS_ON_START: z.enum(['refuse', 'apply', 'warn']).optional(),
};

function variables(table: Table, into: Record<string, z.ZodType> = {}): Record<string, z.ZodType> {
  for (const entry of Object.values(table)) {
    if (Array.isArray(entry)) into[entry[0] as string] = entry[1] as z.ZodType;
    else if (typeof entry === 'object') variables(entry as Table, into);
  }
  return into;
}

function build(table: Table, env: Record<string, unknown>): unknown {
  const entries = Object.entries(table).map(([key, entry]) => {
    if (Array.isArray(entry)) return [key, frozenArray(env[entry[0] as string])];
    if (typeof entry === 'function') return [key, entry(env)];
    return [key, build(entry as Table, env)];
  });
  return Object.freeze(Object.fromEntries(entries));
}

function frozenArray<T>(value: T): T {
  return Array.isArray(value) ? (Object.freeze(value) as T) : value;
}

/** The validated configuration, shaped as `settings`. */
export type Config = Built<typeof settings>;

const schema = z.object({ ...variables(settings), ...alsoRead }).superRefine((parsed, ctx) => {
  const env = parsed as unknown as Env & {
    MONGODB_DB?: string;
    NODE_ENV: string;
    JWT_SECRET?: string;
  };
  // mongodb://user:pw@host/admin names where the user is defined, not a place for the app's data.
  const fromUri = databaseInUri(env.MONGODB_URI);
  if (!env.MONGODB_DB && fromUri && isSystemDatabase(fromUri)) {
    ctx.addIssue({
      code: 'custom',
      path: ['MONGODB_URI'],
      message: `names the ${fromUri} database: set MONGODB_DB to the app's database (and authSource=${fromUri} in the URI if the user is defined there)`,
    });
  }
  // The local engine is a development convenience (and a production install has none).
  if (env.NODE_ENV === 'production' && !env.MONGODB_URI) {
    ctx.addIssue({
      code: 'custom',
      path: ['MONGODB_URI'],
      message:
        'is required when NODE_ENV=production: set it to your MongoDB, e.g. mongodb://db.example.com:27017/microblog?replicaSet=rs0',
    });
  }
  for (const clash of uriClashes(env)) {
    ctx.addIssue({ code: 'custom', path: ['MONGODB_URI'], message: clash });
  }
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['JWT_SECRET'],
      message: 'is required when NODE_ENV=production',
    });
  }
});

/** The server's own databases: never the app's, never a restore target. */
export const SYSTEM_DATABASES = ['admin', 'local', 'config'] as const;

/** MongoDB refuses two database names differing only in case, so `Admin` is `admin` here. */
export function isSystemDatabase(name: string): boolean {
  return (SYSTEM_DATABASES as readonly string[]).includes(name.toLowerCase());
}

/** What a write waits for, what a read may see, where list reads go, what the driver retries. */
export type Replication = Readonly<{
  writeConcern: Readonly<{ w: 'majority' | number; journal: boolean; wtimeoutMS: number }>;
  readConcern: 'majority' | 'local' | 'available';
  listReadPreference:
    | 'primary'
    | 'primaryPreferred'
    | 'secondary'
    | 'secondaryPreferred'
    | 'nearest';
  retryWrites: boolean;
  retryReads: boolean;
}>;

export class ConfigError extends Error {}

/**
 * The URI options that the settings above own, and the setting's value in the URI's spelling.
 * A URI may repeat a setting (Atlas's strings carry retryWrites=true&w=majority), not contradict
 * it: the driver would take one of the two silently.
 */
/** The parsed settings the URI is compared with. */
interface Env {
  MONGODB_URI?: string | undefined;
  MONGODB_WRITE_CONCERN: 'majority' | number;
  MONGODB_WRITE_JOURNAL: boolean;
  MONGODB_WRITE_TIMEOUT_MS: number;
  MONGODB_READ_CONCERN: string;
  MONGODB_RETRY_WRITES: boolean;
  MONGODB_RETRY_READS: boolean;
}

const URI_OWNED: Record<string, (env: Env) => string> = {
  w: (env) => String(env.MONGODB_WRITE_CONCERN),
  journal: (env) => String(env.MONGODB_WRITE_JOURNAL),
  wtimeoutms: (env) => String(env.MONGODB_WRITE_TIMEOUT_MS),
  readconcernlevel: (env) => env.MONGODB_READ_CONCERN,
  retrywrites: (env) => String(env.MONGODB_RETRY_WRITES),
  retryreads: (env) => String(env.MONGODB_RETRY_READS),
  readpreference: () => 'primary',
};
const SETTING_OF: Record<string, string> = {
  w: 'MONGODB_WRITE_CONCERN',
  journal: 'MONGODB_WRITE_JOURNAL',
  wtimeoutms: 'MONGODB_WRITE_TIMEOUT_MS',
  readconcernlevel: 'MONGODB_READ_CONCERN',
  retrywrites: 'MONGODB_RETRY_WRITES',
  retryreads: 'MONGODB_RETRY_READS',
  readpreference: 'MONGODB_LIST_READ_PREFERENCE (list reads only; the others need the primary)',
};

function uriClashes(env: Env): string[] {
  if (!env.MONGODB_URI) return [];
  let params: URLSearchParams;
  try {
    params = new ConnectionString(env.MONGODB_URI).searchParams;
  } catch {
    return [];
  }
  const clashes: string[] = [];
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    const ours = URI_OWNED[key]?.(env);
    if (ours !== undefined && value.toLowerCase() !== ours.toLowerCase()) {
      clashes.push(
        `sets ${name}=${value} but the configuration says ${ours}: set ${SETTING_OF[key]} instead`,
      );
    }
  }
  return clashes;
}

/** The database named in a connection string's path (mongodb://host/myapp), if any. */
function databaseInUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  try {
    const name = decodeURIComponent(new ConnectionString(uri).pathname.replace(/^\//, ''));
    return name || undefined;
  } catch {
    return undefined;
  }
}

/** Reads and validates the environment once; throws ConfigError with one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is invalid'}`);
  }
  return build(settings, parsed.data) as Config;
}
