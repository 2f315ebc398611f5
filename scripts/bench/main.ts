import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Db } from 'mongodb';
import { createApp } from '../../src/app.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { connectDatabase, type Database } from '../../src/db/connection.ts';
import { type EmbeddedEngine, startEmbeddedEngine } from '../../src/db/embedded-engine.ts';
import { createLogger } from '../../src/logger.ts';
import { baselineListener } from './baseline.ts';
import { depthChart } from './chart.ts';
import { assertSameJson, countCommands, type Probe } from './commands.ts';
import { measureDepth } from './depth.ts';
import { measure } from './load.ts';
import { measureBackup, measureMigration, seedMigrationProbe } from './operations.ts';
import { type BenchOptions, parseOptions, UsageError } from './options.ts';
import { type ServerProcess, startServer } from './processes.ts';
import { renderReport } from './report.ts';
import { type Dataset, seedDataset } from './seed.ts';
import { type EndpointResult, evaluateTargets } from './targets.ts';

// FerretDB v1 on SQLite scans the whole collection for every query but an _id lookup, so a
// request's cost grows with the data: the issue's default (10k users, 200k posts) would take
// far beyond ten minutes there. Measured on the reference machine; see docs/benchmarks.md.
const FERRETDB_DEFAULT_SCALE = 0.025;

const root = new URL('../..', import.meta.url).pathname;
const started = Date.now();
const log = (m: string) =>
  console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);

async function connect(): Promise<{ uri: string; engine?: EmbeddedEngine }> {
  if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));
  if (process.env.MONGODB_URI) return { uri: process.env.MONGODB_URI };
  const kind = (process.env.EMBEDDED_ENGINE ?? 'auto') as 'auto' | 'mongod' | 'ferretdb';
  const engine = await startEmbeddedEngine({ engine: kind, log });
  return { uri: engine.uri, engine };
}

interface Workload {
  name: string;
  list: boolean;
  write?: boolean;
  /** Requested in turn. */
  paths: string[];
  headers: Record<string, string>;
  body?: string;
}

function workloads(data: Dataset, feedToken: string, posterToken: string): Workload[] {
  const authors = data.userIds.slice(0, 20).map((id) => `/api/users/${id}/posts?limit=20`);
  const posts = data.samplePostIds.map((id) => `/api/posts/${id}`);
  return [
    { name: 'GET /api/posts', list: true, paths: ['/api/posts?limit=20'], headers: {} },
    { name: 'GET /api/users/:id/posts', list: true, paths: authors, headers: {} },
    {
      name: 'GET /api/feed',
      list: true,
      paths: ['/api/feed?limit=20'],
      headers: { authorization: `Bearer ${feedToken}` },
    },
    { name: 'GET /api/posts/:id', list: false, paths: posts, headers: {} },
    {
      name: 'POST /api/posts',
      list: false,
      write: true,
      paths: ['/api/posts'],
      headers: { authorization: `Bearer ${posterToken}` },
      body: JSON.stringify({ body: 'a benchmark post', tags: ['bench'] }),
    },
  ];
}

async function run(options: BenchOptions): Promise<boolean> {
  const { uri, engine } = await connect();
  const dbName = `bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
  let db: Database | undefined;
  const servers: ServerProcess[] = [];
  try {
    db = await connectDatabase(uri, {
      dbName,
      autoIndex: true,
      poolSize: options.poolSize,
      monitorCommands: true,
    });
    const caps = db.capabilities;
    const scale = options.scale ?? (caps.engine === 'ferretdb' ? FERRETDB_DEFAULT_SCALE : 1);
    if (options.scale === undefined && caps.engine === 'ferretdb') {
      log(`FerretDB scans collections for most queries: default --scale ${scale} (not 1)`);
    }
    const raw: Db = db.connection.getClient().db(dbName);
    const data = await seedDataset(raw, scale, log);

    const jwtSecret = randomBytes(32).toString('base64url');
    const serverEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      MONGODB_URI: uri,
      MONGODB_DB: dbName,
      MONGODB_POOL_SIZE: String(options.poolSize),
      MONGODB_AUTO_INDEX: 'false',
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: 'warn',
      // No rate-limit switch exists; a limit no run can reach keeps the limiter's cost measured.
      RATE_LIMIT_STORE: 'memory',
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_WINDOW_MS: '60000',
    };
    const config = loadConfig(serverEnv);
    const tokens = createTokenService(config.auth);
    const feedToken = (await tokens.issue({ userId: String(data.feedUserId), tokenVersion: 0 }))
      .token;
    const posterToken = (await tokens.issue({ userId: String(data.userIds[1]), tokenVersion: 0 }))
      .token;
    const probes = workloads(data, feedToken, posterToken);

    log('counting database commands per request');
    const asProbe = (p: Workload): Probe => ({
      name: p.name,
      path: p.paths[0] as string,
      method: p.write ? 'POST' : 'GET',
      headers: p.headers,
      body: p.body,
    });
    const client = db.connection.getClient();
    const app = createApp({ config, db, logger: createLogger('silent') });
    const reads = probes.filter((p) => !p.write).map(asProbe);
    const apiCounts = await countCommands(client, dbName, app, reads);
    const baseCounts = await countCommands(client, dbName, baselineListener(raw, tokens), reads);
    for (const p of reads) {
      assertSameJson(apiCounts.get(p.name)?.json, baseCounts.get(p.name)?.json, p.name);
    }

    log('starting the API and the baseline in their own processes');
    const api = await startServer('api', serverEnv);
    servers.push(api);
    const baseline = await startServer('baseline', serverEnv);
    servers.push(baseline);

    const load = {
      connections: options.connections,
      warmup: options.warmup,
      duration: options.duration,
    };
    const endpoints: EndpointResult[] = [];
    for (const p of probes.filter((x) => !x.write)) {
      const apiResult = await measure({ url: api.url, paths: p.paths, headers: p.headers }, load);
      const baseResult = await measure(
        { url: baseline.url, paths: p.paths, headers: p.headers },
        load,
      );
      for (const [who, r] of [
        ['API', apiResult],
        ['baseline', baseResult],
      ] as const) {
        if (r.errors || r.non2xx)
          throw new Error(`${p.name} (${who}): ${r.errors + r.non2xx} failed requests`);
      }
      const counts = apiCounts.get(p.name);
      endpoints.push({
        name: p.name,
        list: p.list,
        api: apiResult,
        baseline: baseResult,
        ratio: apiResult.rps / baseResult.rps,
        apiCommands: counts?.commands ?? [],
        apiFirstCommands: counts?.firstCommands ?? [],
        tokenCheck: counts?.tokenCheck ?? 0,
        baselineCommands: baseCounts.get(p.name)?.commands,
      });
      log(`${p.name}: ${apiResult.rps.toFixed(1)} req/s, baseline ${baseResult.rps.toFixed(1)}`);
    }

    log('measuring latency by page depth');
    const depth = await measureDepth(
      raw,
      data.posts,
      { api: api.url, baseline: baseline.url },
      { warmup: options.warmup, duration: options.depthDuration },
      log,
    );

    // Writes last, so that the reads above saw exactly the seeded data.
    const write = probes.find((x) => x.write);
    if (write) {
      const [counted] = await countCommands(client, dbName, app, [asProbe(write)]);
      if (counted) apiCounts.set(...counted);
      const r = await measure(
        {
          url: api.url,
          paths: write.paths,
          method: 'POST',
          headers: write.headers,
          body: write.body,
        },
        load,
      );
      if (r.errors || r.non2xx)
        throw new Error(`${write.name}: ${r.errors + r.non2xx} failed requests`);
      const counts = apiCounts.get(write.name);
      endpoints.push({
        name: write.name,
        list: false,
        api: r,
        apiCommands: counts?.commands ?? [],
        apiFirstCommands: counts?.firstCommands ?? [],
        tokenCheck: counts?.tokenCheck ?? 0,
      });
      log(`${write.name}: ${r.rps.toFixed(1)} req/s`);
    }
    await Promise.all(servers.splice(0).map((s) => s.stop()));

    const page = JSON.stringify(apiCounts.get('GET /api/posts')?.json);
    const gzStart = performance.now();
    let gzipBytes = 0;
    for (let i = 0; i < 200; i += 1) gzipBytes = gzipSync(page).length;
    const compression = {
      jsonBytes: Buffer.byteLength(page),
      gzipBytes,
      microsecondsPerResponse: ((performance.now() - gzStart) * 1000) / 200,
    };

    const jobEnv = { ...process.env, MONGODB_URI: uri, BENCH_DB: dbName };
    let migrationCollection = 'posts';
    if (options.migrationDocs > 0) {
      migrationCollection = 'migration_probe';
      log(`seeding ${options.migrationDocs} documents for the migration`);
      await seedMigrationProbe(raw, migrationCollection, options.migrationDocs);
    }
    log(`migrating ${migrationCollection}`);
    const migration = await measureMigration(jobEnv, migrationCollection, 1000);
    if (migrationCollection !== 'posts') await raw.collection(migrationCollection).drop();
    log('backing up');
    const backup = await measureBackup(raw, jobEnv);

    const targets = evaluateTargets({ endpoints, depth, migration, backup });
    const cpu = cpus();
    const environment = {
      date: new Date().toISOString(),
      cpu: cpu[0]?.model.trim() ?? 'unknown CPU',
      cores: cpu.length,
      memoryGb: Math.round(totalmem() / 1024 ** 3),
      os: `${type()} ${release()}`,
      node: process.versions.node,
      engine: `${caps.engine} ${caps.engineVersion}${caps.engine === 'ferretdb' ? ' (SQLite)' : ''}`,
      dataset:
        `scale ${scale}: ${data.users} users, ${data.posts} posts, ${data.follows} follows, ` +
        `${data.tags} tags; the feed reader follows ${data.feedFollowees}`,
      load:
        `autocannon, ${options.connections} connections, ${options.warmup} s warm-up + ` +
        `${options.duration} s per endpoint (depth: 1 connection, ${options.depthDuration} s); ` +
        'load generator, servers and database share the machine',
    };
    const report = renderReport({
      environment,
      endpoints,
      depth,
      compression,
      migration,
      backup,
      targets,
    });
    const outDir = join(root, 'bench/results');
    mkdirSync(outDir, { recursive: true });
    const stamp = environment.date.replace(/[:.]/g, '-');
    const file = join(outDir, stamp);
    writeFileSync(
      `${file}.json`,
      `${JSON.stringify({ environment, options: { ...options, scale }, dataset: { ...data, userIds: undefined, samplePostIds: undefined }, endpoints, depth, compression, migration, backup, targets }, null, 2)}\n`,
    );
    writeFileSync(`${file}.md`, report);
    writeFileSync(`${file}.svg`, depthChart(depth, `${environment.engine}, ${data.posts} posts`));
    process.stdout.write(report);
    log(`results in bench/results/${stamp}.{json,md,svg}`);
    return targets.every((t) => t.status !== 'FAIL');
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (db) {
      if (!options.keep && db.connection.name.startsWith('bench_'))
        await db.connection.dropDatabase();
      await db.close();
    }
    await engine?.stop();
  }
}

try {
  const options = parseOptions(process.argv.slice(2));
  const allPassed = await run(options);
  process.exit(options.check && !allPassed ? 1 : 0);
} catch (error) {
  const message =
    error instanceof UsageError ? error.message : `bench failed: ${(error as Error).message}`;
  console.error(message.split('\n')[0]);
  process.exit(1);
}
