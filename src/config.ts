import { ConnectionString } from 'mongodb-connection-string-url';
import { z } from 'zod';

const DEV_SECRET_NOTE = 'development-only-secret-do-not-use-in-production';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const schema = z
  .object({
    /** development | test | production. Production requires JWT_SECRET. */
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    /** Interface the HTTP server binds to. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** TCP port of the HTTP server (0 picks a free one). */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** MongoDB connection string. Unset: start the embedded engine (see EMBEDDED_ENGINE). */
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URI')
      .optional(),
    /** Database name. Unset: the one in MONGODB_URI's path, else `microblog`. */
    MONGODB_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only')
      .refine((name) => !isSystemDatabase(name), 'names a system database (admin, local, config)')
      .optional(),
    /** Maximum connections in the driver's pool. */
    MONGODB_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(20),
    /** How long an operation waits for a reachable server before failing (ms). */
    MONGODB_SERVER_SELECTION_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(5000),
    /**
     * How long opening a connection (TCP and the hello handshake) may take (ms). The driver's
     * server monitor also uses it for its checks: one hung handshake holds the monitor, and the
     * API's recovery after an outage, this long (the driver's default, 30 s, was seen here).
     */
    MONGODB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /**
     * How long a command may wait for the server's reply (ms): past it the driver closes that
     * connection and the request gets 503 database-unavailable. Bounds every database call of a
     * request when the engine stops answering; set it above the slowest command the API sends.
     */
    MONGODB_SOCKET_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(3000),
    /**
     * How long an operation may wait for a pooled connection (ms); past it the request gets 503
     * overloaded. The in-flight caps bound how many wait; this bounds how long.
     */
    MONGODB_WAIT_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(1000),
    /** Build missing indexes from the schemas at start-up. Off by default: migrations own indexes. */
    MONGODB_AUTO_INDEX: bool.default(false),
    /**
     * Write concern `w`: `majority` (an acknowledged write is on most members and survives a
     * failover) or a member count. 0 (unacknowledged) is refused: the API would report writes
     * it never saw succeed.
     */
    MONGODB_WRITE_CONCERN: z
      .string()
      .regex(/^(majority|[1-9]|[1-4][0-9]|50)$/, 'must be majority or a member count (1-50)')
      .default('majority')
      .transform((w) => (w === 'majority' ? w : Number(w))),
    /** Write concern `journal`: acknowledge only after the write is in the on-disk journal. */
    MONGODB_WRITE_JOURNAL: bool.default(true),
    /**
     * Write concern `wtimeoutMS`: how long a write waits for its members before it fails (503);
     * such a write is applied on the primary and may still replicate, or be rolled back.
     */
    MONGODB_WRITE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /**
     * Read concern level: `majority` (only what most members hold, never rolled back), `local`
     * or `available`. linearizable and snapshot are refused: transactions reject the first, reads
     * outside one the second.
     */
    MONGODB_READ_CONCERN: z.enum(['majority', 'local', 'available']).default('majority'),
    /**
     * Read preference of the list reads (pages of posts, users, tags, follows, the feed). Every
     * other read stays on the primary: token checks and the reads that follow a write.
     */
    MONGODB_LIST_READ_PREFERENCE: z
      .enum(['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest'])
      .default('primary'),
    /** Retryable writes: the driver retries a write once after a failover or network error. */
    MONGODB_RETRY_WRITES: bool.default(true),
    /** Retryable reads: the driver retries a read once after a failover or network error. */
    MONGODB_RETRY_READS: bool.default(true),
    /**
     * Rules of the server that its identity does not tell (unset: MongoDB keeps them, FerretDB v1
     * does not). false where `npm run doctor` says concurrent updates of one document lose one
     * (the models' writes then take turns per process) or racing upserts on a new _id do.
     */
    MONGODB_ATOMIC_UPDATES: bool.optional(),
    MONGODB_ATOMIC_UPSERTS: bool.optional(),
    /** auto: a local mongod, else a downloaded one, else FerretDB from .tools/bin. */
    EMBEDDED_ENGINE: z.enum(['auto', 'mongod', 'ferretdb']).default('auto'),
    /** Where the embedded engine keeps its files between runs (relative: to the project root). */
    EMBEDDED_DATA_DIR: z.string().min(1).default('.data/embedded'),
    /**
     * The embedded engine's port on 127.0.0.1, fixed so that every command finds the running
     * engine (and a mongod replica set restarts on the host:port its configuration names).
     * 27117: clear of a local mongod's 27017-27019.
     */
    EMBEDDED_PORT: z.coerce.number().int().min(1).max(65535).default(27117),
    /**
     * How often the API recounts the tags whose counter write failed (ms); a failure also wakes
     * it at once. Recorded tags are recounted from the posts (src/tags/reconciler.ts).
     */
    TAG_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
    /** How often the API compares every tag's count with its posts and repairs drift (ms; 0: never). */
    TAG_FULL_CHECK_INTERVAL_MS: z.coerce
      .number()
      .int()
      .refine(
        (v) => v === 0 || (v >= 1000 && v <= 7 * 24 * 3_600_000),
        'must be 0 or 1000-604800000',
      )
      .default(3_600_000),
    /** HMAC secret for bearer tokens, at least 32 characters. Required in production. */
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Lifetime of a bearer token in seconds. */
    TOKEN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .default(3600),
    /** Largest accepted JSON body, in bytes. */
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(10 * 1024 * 1024)
      .default(100 * 1024),
    /**
     * How long a client may take to send its whole request, headers and body (ms); past it the
     * connection gets 408 and is closed (Node's requestTimeout; headers: at most 60 s of it).
     */
    HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    /** Browser origins allowed to call the API (CORS), comma-separated; empty: none. */
    CORS_ORIGINS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z
            .url({ protocol: /^https?$/ })
            .regex(/^https?:\/\/[^/?#]+$/, 'scheme://host[:port] only'),
        ),
      )
      .optional(),
    /** Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none). */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    /**
     * Requests one client address may have in flight at once; more are answered 429 at once, so
     * one client cannot hold the database pool (MONGODB_POOL_SIZE) and the event loop alone.
     */
    MAX_IN_FLIGHT_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(8),
    /** Requests the process may have in flight at once; more are shed with 503 overloaded. */
    MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(256),
    /**
     * Event-loop lag (ms) above which new requests are shed with 503 overloaded until it falls
     * back; 0 turns the check off.
     */
    MAX_EVENT_LOOP_LAG_MS: z.coerce.number().int().min(0).max(60_000).default(500),
    /** Where rate-limit counters live: memory (one instance) or mongodb (shared by instances). */
    RATE_LIMIT_STORE: z.enum(['memory', 'mongodb']).default('memory'),
    /** Window of the global per-address rate limit (ms). */
    RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
    /** Requests one address may make per window. */
    RATE_LIMIT_MAX: z.coerce.number().int().min(1).max(1_000_000).default(300),
    /** Window of the failed-login limits (ms). */
    LOGIN_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(86_400_000).default(900_000),
    /** Failed logins per account (username or email) per window. */
    LOGIN_RATE_LIMIT_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(10),
    /** Failed logins per client address per window. */
    LOGIN_RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(50),
    /**
     * The API process's old generation grows to this percentage above what survived its last
     * full garbage collection before the next one (V8's --heap-growing-percent); 0 leaves V8's
     * own factor, which lets garbage pile up to several times the live heap under load.
     * docs/benchmarks.md has the measured effect (peak RSS under load) and its CPU cost.
     */
    HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(400).default(50),
    /** How long in-flight requests may take to finish after SIGTERM/SIGINT (ms). */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    /** Connection attempts at start-up before giving up. */
    MONGODB_CONNECT_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
    /** Wait after the first failed attempt (ms); doubles each time, at most 30 s. */
    MONGODB_CONNECT_BACKOFF_MS: z.coerce.number().int().min(10).max(30_000).default(500),
    /** Folder for backup archives and manifests (npm run backup). */
    BACKUP_DIR: z.string().min(1).default('backups'),
    /** Retention: newest backup of each of the last N days / ISO weeks / months that have one. */
    BACKUP_KEEP_DAILY: z.coerce.number().int().min(0).max(1000).default(7),
    BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).max(1000).default(4),
    BACKUP_KEEP_MONTHLY: z.coerce.number().int().min(0).max(1000).default(12),
    /** The newest N good backups are never pruned, whatever their dates. */
    BACKUP_KEEP_LAST: z.coerce.number().int().min(1).max(1000).default(3),
    /** Backups taken before a migration are kept at least this many days (their own rule). */
    BACKUP_KEEP_PRE_MIGRATION_DAYS: z.coerce.number().int().min(7).max(3650).default(30),
    /** Shell command run when backup or backup:verify fails (alerting from cron). */
    BACKUP_ON_FAILURE: z.string().min(1).optional(),
    /** backup:status exits non-zero when the newest good backup is older than this. */
    BACKUP_MAX_AGE_HOURS: z.coerce
      .number()
      .positive()
      .max(24 * 366)
      .default(26),
    /** mongodump / mongorestore to run; default: PATH, then .tools/bin. */
    MONGODUMP_PATH: z.string().min(1).optional(),
    MONGORESTORE_PATH: z.string().min(1).optional(),
    /** Pending migrations at start-up: refuse to serve, apply them, or warn (default: apply in
     * development so that `npm start` works on a fresh machine, refuse elsewhere). */
    MIGRATIONS_ON_START: z.enum(['refuse', 'apply', 'warn']).optional(),
    /** Documents per bulkWrite batch in data migrations. */
    MIGRATION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
    /** How long a migration run waits for another run's lock before failing (s). */
    MIGRATION_LOCK_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
    /** How long a schema change (up, down, stamp, restore --drop) waits for live APIs to stop writing (s). */
    MIGRATION_ACK_WAIT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
    /** Back up a non-test database before applying migrations (npm run migrate -- up, start-up). */
    MIGRATION_BACKUP: bool.default(true),
    /** How often the API re-reads the migration state for changes made without an announcement. */
    MIGRATIONS_WATCH_SECONDS: z.coerce.number().int().min(1).max(300).default(2),
    /** pino log level. */
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    /** auto: pretty, coloured lines when stdout is a terminal, JSON otherwise; or json | pretty. */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** Prometheus metrics at /metrics (see docs/operations.md). */
    METRICS_ENABLED: bool.default(false),
    /** Serve /metrics on a listener of its own at METRICS_HOST:METRICS_PORT (unset: the API's port). */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** On the API's port, the socket addresses (not X-Forwarded-For) that may read /metrics. */
    METRICS_ALLOW: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
      )
      .default(['127.0.0.1', '::1', '::ffff:127.0.0.1']),
  })
  .superRefine((env, ctx) => {
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

/** The validated configuration: its type is what configFrom builds from the schema's output. */
export type Config = ReturnType<typeof configFrom>;

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
  return configFrom(parsed.data);
}

/** The configuration object, grouped by concern and frozen, from the schema's parsed output. */
function configFrom(e: z.output<typeof schema>) {
  return Object.freeze({
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    mongo: Object.freeze({
      uri: e.MONGODB_URI,
      dbName: e.MONGODB_DB ?? databaseInUri(e.MONGODB_URI) ?? 'microblog',
      poolSize: e.MONGODB_POOL_SIZE,
      serverSelectionTimeoutMS: e.MONGODB_SERVER_SELECTION_TIMEOUT_MS,
      connectTimeoutMS: e.MONGODB_CONNECT_TIMEOUT_MS,
      socketTimeoutMS: e.MONGODB_SOCKET_TIMEOUT_MS,
      waitQueueTimeoutMS: e.MONGODB_WAIT_QUEUE_TIMEOUT_MS,
      autoIndex: e.MONGODB_AUTO_INDEX,
      replication: Object.freeze({
        writeConcern: Object.freeze({
          w: e.MONGODB_WRITE_CONCERN,
          journal: e.MONGODB_WRITE_JOURNAL,
          wtimeoutMS: e.MONGODB_WRITE_TIMEOUT_MS,
        }),
        readConcern: e.MONGODB_READ_CONCERN,
        listReadPreference: e.MONGODB_LIST_READ_PREFERENCE,
        retryWrites: e.MONGODB_RETRY_WRITES,
        retryReads: e.MONGODB_RETRY_READS,
      }),
      engineRules: Object.freeze({
        atomicUpdates: e.MONGODB_ATOMIC_UPDATES,
        atomicUpserts: e.MONGODB_ATOMIC_UPSERTS,
      }),
    }),

    embedded: Object.freeze({
      engine: e.EMBEDDED_ENGINE,
      dataDir: e.EMBEDDED_DATA_DIR,
      port: e.EMBEDDED_PORT,
    }),
    auth: Object.freeze({
      jwtSecret: e.JWT_SECRET ?? DEV_SECRET_NOTE,
      /** Seals the pagination cursors (src/shared/cursor.ts); unset: the development key. */
      cursorSecret: e.JWT_SECRET,
      tokenTtlSeconds: e.TOKEN_TTL_SECONDS,
    }),
    http: Object.freeze({
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      corsOrigins: Object.freeze(e.CORS_ORIGINS ?? []),
      trustProxyHops: e.TRUST_PROXY_HOPS,
    }),
    load: Object.freeze({
      maxInFlightPerClient: e.MAX_IN_FLIGHT_PER_CLIENT,
      maxInFlight: e.MAX_IN_FLIGHT,
      maxEventLoopLagMs: e.MAX_EVENT_LOOP_LAG_MS,
    }),
    rateLimit: Object.freeze({
      store: e.RATE_LIMIT_STORE,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      max: e.RATE_LIMIT_MAX,
      loginWindowMs: e.LOGIN_RATE_LIMIT_WINDOW_MS,
      loginPerAccount: e.LOGIN_RATE_LIMIT_PER_ACCOUNT,
      loginPerAddress: e.LOGIN_RATE_LIMIT_PER_ADDRESS,
    }),
    tags: Object.freeze({
      reconcileIntervalMs: e.TAG_RECONCILE_INTERVAL_MS,
      fullCheckIntervalMs: e.TAG_FULL_CHECK_INTERVAL_MS,
    }),
    lifecycle: Object.freeze({
      heapGrowingPercent: e.HEAP_GROWING_PERCENT,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      connectAttempts: e.MONGODB_CONNECT_ATTEMPTS,
      connectBackoffMs: e.MONGODB_CONNECT_BACKOFF_MS,
    }),
    backup: Object.freeze({
      dir: e.BACKUP_DIR,
      keep: Object.freeze({
        last: e.BACKUP_KEEP_LAST,
        daily: e.BACKUP_KEEP_DAILY,
        weekly: e.BACKUP_KEEP_WEEKLY,
        monthly: e.BACKUP_KEEP_MONTHLY,
        preMigrationDays: e.BACKUP_KEEP_PRE_MIGRATION_DAYS,
      }),
      onFailure: e.BACKUP_ON_FAILURE,
      maxAgeHours: e.BACKUP_MAX_AGE_HOURS,
      mongodumpPath: e.MONGODUMP_PATH,
      mongorestorePath: e.MONGORESTORE_PATH,
    }),
    migrations: Object.freeze({
      onStart: e.MIGRATIONS_ON_START ?? (e.NODE_ENV === 'development' ? 'apply' : 'refuse'),
      batchSize: e.MIGRATION_BATCH_SIZE,
      lockWaitSeconds: e.MIGRATION_LOCK_WAIT_SECONDS,
      ackWaitSeconds: e.MIGRATION_ACK_WAIT_SECONDS,
      backup: e.MIGRATION_BACKUP,
      watchSeconds: e.MIGRATIONS_WATCH_SECONDS,
    }),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    metrics: Object.freeze({
      enabled: e.METRICS_ENABLED,
      port: e.METRICS_PORT,
      host: e.METRICS_HOST,
      allow: Object.freeze(e.METRICS_ALLOW),
    }),
  });
}
