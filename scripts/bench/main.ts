import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../../src/app.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { runScript, type ScriptContext } from '../../src/cli/script.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { projectRoot } from '../../src/process/project-root.ts';
import { baselineListener, expressFloor } from './baseline.ts';
import { countReads, measureEndpoints, workloads } from './endpoints.ts';
import { measureOdm } from './odm.ts';
import { type BackupResult, measureBackup, measureMigration } from './operations.ts';
import { type BenchOptions, parseOptions } from './options.ts';
import { type Measured, measureCompression, writeResults } from './report.ts';
import { insertInBatches, openScratchDatabase, seedDataset } from './seed.ts';
import { startServer } from './serve.ts';
import { evaluateTargets } from './targets.ts';

// FerretDB v1 scans the whole collection for every query: at scale 1 a run would take hours.
const FERRETDB_DEFAULT_SCALE = 0.005;

const started = Date.now();
const log = (m: string) =>
  console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);

type Bench = Awaited<ReturnType<typeof openBench>>;

/** The engine (embedded unless MONGODB_URI is set), a fresh bench database, the dataset. */
async function openBench(options: BenchOptions, onCleanup: ScriptContext['onCleanup']) {
  const scratch = { ...options, log, monitorCommands: true };
  const opened = await openScratchDatabase('bench', onCleanup, scratch);
  const engine = opened.db.capabilities.engine;
  const scale = options.scale ?? (engine === 'ferretdb' ? FERRETDB_DEFAULT_SCALE : 1);
  if (options.scale === undefined && engine === 'ferretdb') {
    log(`FerretDB scans a collection for every query: default --scale ${scale} here, not 1`);
  }
  const data = await seedDataset(opened.raw, scale, log);
  // The environment of the migration's and the backup's processes.
  const jobEnv = { ...process.env, MONGODB_URI: opened.uri, BENCH_DB: opened.dbName };
  const client = opened.db.connection.getClient();
  return { ...opened, options, scale, data, client, onCleanup, jobEnv };
}

/** The environment of the servers under load: the bench database, limits no run reaches. */
function serverEnvironment(bench: Bench): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    MONGODB_URI: bench.uri,
    MONGODB_DB: bench.dbName,
    MONGODB_POOL_SIZE: String(bench.options.poolSize),
    MONGODB_AUTO_INDEX: 'false',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
    // Limits no run reaches: the checks are paid for, nothing is refused or shed.
    RATE_LIMIT_STORE: 'memory',
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_WINDOW_MS: '60000',
    MAX_IN_FLIGHT_PER_CLIENT: '10000',
    MAX_IN_FLIGHT: '100000',
    MAX_EVENT_LOOP_LAG_MS: '60000',
  };
}

/**
 * The http phase: commands per request, then each endpoint under load, each server in its own
 * process (stopped on the way out too); --profile's profiles in a folder of the results.
 */
async function measureRequests(bench: Bench) {
  const { options, client, dbName, data, db, raw } = bench;
  const serverEnv = serverEnvironment(bench);
  // The workloads, with tokens from the servers' own key, and the app as the servers run it.
  const config = loadConfig(serverEnv);
  const tokens = createTokenService(config.auth);
  const tokenFor = async (id: unknown) =>
    (await tokens.issue({ userId: String(id), tokenVersion: 0 })).token;
  const work = workloads(data, await tokenFor(data.feedUserId), await tokenFor(data.userIds[1]));
  const [reads, write] = [work.filter((w) => !w.write), work.find((w) => w.write)];
  const listeners = {
    api: createApp({ config, db, logger: createLogger('silent') }),
    baseline: baselineListener(raw, tokens),
    floor: options.floor ? expressFloor(db, tokens) : undefined,
  };
  log('counting database commands per request');
  const counts = await countReads(client, dbName, listeners, reads);
  log('starting the API and the baseline in processes of their own');
  const start = async (kind: 'api' | 'baseline' | 'express') => {
    const server = await startServer(kind, serverEnv);
    bench.onCleanup(() => server.stop());
    return server;
  };
  const [api, baseline] = [await start('api'), await start('baseline')];
  const floor = options.floor ? await start('express') : undefined;
  const servers = { api, baseline, floor };
  const profileDir = options.profile
    ? join(projectRoot, 'bench/results', `profiles-${dbName.slice(6)}`)
    : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const load = { ...options, profileDir };
  const endpoints = await measureEndpoints(reads, servers, counts, load, log);
  // The write last, so that every read above saw exactly the seeded data.
  if (write) {
    const writeCounts = await countReads(client, dbName, { api: listeners.api }, [write]);
    endpoints.push(...(await measureEndpoints([write], servers, writeCounts, load, log)));
  }
  await Promise.all([api, baseline, floor].map((s) => s?.stop()));
  return { endpoints, compression: measureCompression(counts.get('GET /api/posts')?.json) };
}

async function measureMigrationPhase(bench: Bench) {
  const { migrationDocs } = bench.options;
  const collection = migrationDocs > 0 ? 'migration_probe' : 'posts';
  if (migrationDocs > 0) {
    log(`seeding ${migrationDocs} documents for the migration`);
    // Post-shaped documents, for a migration bigger than the posts.
    await insertInBatches(bench.raw, collection, migrationDocs, (i) => ({
      body: `migration probe ${i}: the quick brown fox jumps over the lazy dog`,
      timestamp: new Date(),
      tags: ['probe'],
    }));
  }
  log(`migrating ${collection}`);
  const migration = await measureMigration(bench.jobEnv, collection, 1000);
  if (migrationDocs > 0) await bench.raw.collection(collection).drop();
  return migration;
}

/** Evaluates the targets, writes the results and prints the report; true when none failed. */
function report(bench: Bench, measured: Omit<Measured, 'engine' | 'options' | 'data' | 'targets'>) {
  const caps = bench.db.capabilities;
  const targets = evaluateTargets(measured);
  const written = writeResults(projectRoot, {
    engine: caps.engineVersion.includes('mongo-java-server')
      ? `mongo-java-server ${caps.engineVersion.split('mongo-java-server-')[1]} (in memory)`
      : `${caps.engine} ${caps.engineVersion}${caps.engine === 'ferretdb' ? ' (SQLite)' : ''}`,
    options: { ...bench.options, scale: bench.scale },
    data: bench.data,
    ...measured,
    targets,
  });
  process.stdout.write(written.report);
  log(`results in ${written.files}`);
  return targets.every((t) => t.status !== 'FAIL');
}

// The script runner cleans up (servers, the database, the engine) on a signal or a failure.
await runScript('bench', async (ctx) => {
  const options = parseOptions(process.argv.slice(2));
  const bench = await openBench(options, ctx.onCleanup);
  const requests = options.only.has('http') ? await measureRequests(bench) : { endpoints: [] };
  const odm = options.only.has('odm')
    ? await measureOdm(bench.uri, bench.dbName, bench.data, options.odm, log)
    : undefined;
  const migration = options.only.has('migration') ? await measureMigrationPhase(bench) : undefined;
  let backup: BackupResult | undefined;
  if (options.only.has('backup')) {
    log('npm run backup, then npm run backup:verify');
    backup = await measureBackup(bench.raw, bench.jobEnv);
  }
  const allPassed = report(bench, { ...requests, odm, migration, backup });
  return options.check && !allPassed ? 1 : 0;
});
