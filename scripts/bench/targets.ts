import type { LoadResult } from './load.ts';
import type { OdmResult } from './odm.ts';
import type { BackupResult, MigrationResult } from './operations.ts';
import type { CostShare } from './profile.ts';
import type { ProcessUsage } from './usage.ts';

export interface EndpointResult {
  name: string;
  list: boolean;
  api: LoadResult;
  baseline?: LoadResult;
  /** The same read on bare Express routes (express-floor.ts), with --floor. */
  floor?: LoadResult;
  /** API throughput over the baseline's, when there is a baseline. */
  ratio?: number;
  /** API CPU time per request over the baseline's. */
  cpuRatio?: number;
  /** req/s of each round, in the order measured. */
  rounds: { api: number[]; baseline: number[] };
  /** The profiled extra run of each side (its usage, profile file), with --profile (and --floor). */
  profiles: Partial<
    Record<'api' | 'baseline' | 'floor', { usage: ProcessUsage; costs: CostShare[] }>
  >;
  apiCommands: string[];
  /** Commands of the first request of a minute (the lastSeen write of authenticated ones). */
  apiFirstCommands: string[];
  tokenCheck: number;
  baselineCommands?: string[];
}

export interface Target {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

const MB = 1024 * 1024;
export const RSS_LIMIT_BYTES = 300 * MB;
/** The API process under load (issue 14). */
export const API_RSS_LIMIT_BYTES = 150 * MB;
export const CPU_RATIO_LIMIT = 1.3;
/** The API's CPU per request over bare Express calling the same service code (--floor). */
export const FLOOR_CPU_LIMIT = 1.1;
/** A read's client CPU through Mongoose over the driver's for the same commands (odm.ts). */
export const ODM_CPU_LIMIT = 1.25;
/** Throughput the API keeps of the baseline's on the in-memory engine, on every read. */
export const IN_MEMORY_THROUGHPUT = 0.85;
export const MIGRATION_TARGET_DOCS = 1_000_000;

const verdict = (ok: boolean): Target['status'] => (ok ? 'PASS' : 'FAIL');

// Below these, a ratio or a p99 says more about chance than about the code.
const MIN_REQUESTS = 20;
const tooFew = (a: number, b: number | undefined) =>
  `only ${a} and ${b ?? 0} requests completed: lengthen --duration or lower --scale`;

const notRun = (name: string, phase: string): Target => ({
  name,
  status: 'SKIP',
  detail: `not run (--only without ${phase})`,
});

/** PASS, FAIL or SKIP (with why) for every target of the issue; parts not run are SKIP. */
export function evaluateTargets(input: {
  /** mongo-java-server: the engine answers fast enough for the API's own cost to show. */
  inMemoryEngine: boolean;
  endpoints: EndpointResult[];
  migration?: MigrationResult;
  backup?: BackupResult;
  /** The Mongoose-vs-driver micro-benchmark, when its phase ran. */
  odm?: OdmResult[];
}): Target[] {
  const targets: Target[] = [];
  if (input.endpoints.length === 0) {
    targets.push(notRun('list endpoints >= 60% of baseline, commands per request', 'http'));
  }
  for (const e of input.endpoints.filter((x) => x.list && x.baseline)) {
    const name = `${e.name} throughput >= 60% of baseline`;
    const counted = Math.min(e.api.requests, e.baseline?.requests ?? 0);
    if (counted < MIN_REQUESTS) {
      targets.push({ name, status: 'SKIP', detail: tooFew(e.api.requests, e.baseline?.requests) });
      continue;
    }
    const ratio = e.ratio as number;
    targets.push({ name, status: verdict(ratio >= 0.6), detail: `${(ratio * 100).toFixed(0)}%` });
  }
  targets.push(...processTargets(input.endpoints, input.inMemoryEngine));
  targets.push(...layerTargets(input.endpoints, input.odm));
  for (const e of input.endpoints) {
    const limit = e.name === 'GET /api/posts/:id' ? 2 : e.list ? 3 : undefined;
    if (limit === undefined) continue;
    const n = e.apiCommands.length;
    targets.push({
      name: `${e.name} <= ${limit} database commands`,
      status: verdict(n <= limit),
      detail:
        e.tokenCheck > 0
          ? `${n}, of which ${e.tokenCheck} token check (${n - e.tokenCheck} without it: ` +
            `${n - e.tokenCheck <= limit ? 'within' : 'over'} the limit)`
          : `${n}`,
    });
  }
  const m = input.migration;
  const migrationName = 'migration over 1M documents: peak RSS < 300 MB';
  if (!m) {
    targets.push(notRun(migrationName, 'migration'));
  } else if (m.docs < MIGRATION_TARGET_DOCS) {
    targets.push({
      name: migrationName,
      status: 'SKIP',
      detail: `ran over ${m.docs} documents (peak ${(m.memory.largestBytes / MB).toFixed(0)} MB); --migration-docs 1000000 measures the target`,
    });
  } else {
    targets.push({
      name: migrationName,
      status: verdict(m.memory.largestBytes < RSS_LIMIT_BYTES),
      detail: `${m.docs} documents, peak ${(m.memory.largestBytes / MB).toFixed(0)} MB`,
    });
  }
  const b = input.backup;
  if (!b) targets.push(notRun('backup: peak RSS < 300 MB', 'backup'));
  else if (b.missing || !b.backup || !b.verify) {
    targets.push({ name: 'backup: peak RSS < 300 MB', status: 'SKIP', detail: b.missing ?? '' });
  } else {
    const peak = Math.max(b.backup.memory.largestBytes, b.verify.memory.largestBytes);
    targets.push({
      name: 'backup and verify: peak RSS < 300 MB',
      status: verdict(peak < RSS_LIMIT_BYTES),
      detail: `largest process ${(peak / MB).toFixed(0)} MB`,
    });
  }
  return targets;
}

const x2 = (ratio: number) => `${ratio.toFixed(2)}x`;

/**
 * What each layer above the driver costs: the API's own layers over bare Express calling the same
 * service code (both in CPU per request of their process), and Mongoose over the driver for the
 * same commands (client CPU per read, odm.ts).
 */
export function layerTargets(endpoints: EndpointResult[], odm: OdmResult[] | undefined): Target[] {
  const targets: Target[] = [];
  const reads = endpoints.filter((e) => e.baseline);
  const floorName = (endpoint: string) =>
    `${endpoint} API CPU per request <= ${FLOOR_CPU_LIMIT}x Express alone`;
  if (reads.length === 0) targets.push(notRun(floorName('every read:'), 'http'));
  for (const e of reads) {
    const name = floorName(e.name);
    const a = e.api.usage;
    const f = e.floor?.usage;
    if (!f) {
      const detail = 'Express alone not measured: run with --floor (--check turns it on)';
      targets.push({ name, status: 'SKIP', detail });
      continue;
    }
    if (!a || Math.min(a.requests, f.requests) < MIN_REQUESTS) {
      targets.push({ name, status: 'SKIP', detail: tooFew(a?.requests ?? 0, f.requests) });
      continue;
    }
    const ratio = a.cpuMicrosPerRequest / f.cpuMicrosPerRequest;
    targets.push({
      name,
      status: verdict(ratio <= FLOOR_CPU_LIMIT),
      detail: `${a.cpuMicrosPerRequest.toFixed(0)} µs vs ${f.cpuMicrosPerRequest.toFixed(0)} µs (${x2(ratio)})`,
    });
  }
  const odmName = (read: string) =>
    `${read} Mongoose read <= ${ODM_CPU_LIMIT}x driver read (client CPU)`;
  if (!odm) targets.push(notRun(odmName('every read:'), 'odm'));
  for (const o of odm ?? []) {
    const name = odmName(o.name);
    if (!(o.driverMicros > 0) || !(o.mongooseMicros > 0)) {
      targets.push({ name, status: 'SKIP', detail: 'no CPU time measured' });
      continue;
    }
    const ratio = o.mongooseMicros / o.driverMicros;
    const rounds = o.perRound.mongoose.map((m, i) => m / (o.perRound.driver[i] ?? Number.NaN));
    targets.push({
      name,
      status: verdict(ratio <= ODM_CPU_LIMIT),
      detail:
        `${o.mongooseMicros.toFixed(0)} µs vs ${o.driverMicros.toFixed(0)} µs (${x2(ratio)}; ` +
        `rounds ${x2(Math.min(...rounds))}-${x2(Math.max(...rounds))})`,
    });
  }
  return targets;
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

/**
 * What the API process spends next to the baseline's: CPU per request on every read (it does
 * not depend on the engine's speed), throughput on the in-memory engine (on FerretDB the engine's
 * scans dominate both sides), and the API's peak RSS under the load.
 */
function processTargets(endpoints: EndpointResult[], inMemoryEngine: boolean): Target[] {
  const targets: Target[] = [];
  const reads = endpoints.filter((e) => e.baseline);
  for (const e of reads) {
    const name = `${e.name} CPU per request <= ${CPU_RATIO_LIMIT}x baseline`;
    const a = e.api.usage;
    const b = e.baseline?.usage;
    if (!a || !b || Math.min(a.requests, b.requests) < MIN_REQUESTS) {
      targets.push({ name, status: 'SKIP', detail: tooFew(a?.requests ?? 0, b?.requests) });
      continue;
    }
    const ratio = a.cpuMicrosPerRequest / b.cpuMicrosPerRequest;
    targets.push({
      name,
      status: verdict(ratio <= CPU_RATIO_LIMIT),
      detail: `${a.cpuMicrosPerRequest.toFixed(0)} µs vs ${b.cpuMicrosPerRequest.toFixed(0)} µs (${ratio.toFixed(2)}x)`,
    });
  }
  for (const e of reads) {
    const name = `${e.name} throughput >= ${IN_MEMORY_THROUGHPUT * 100}% of baseline (in-memory engine)`;
    if (!inMemoryEngine) {
      targets.push({ name, status: 'SKIP', detail: 'measured on mongo-java-server only' });
      continue;
    }
    const ratio = e.ratio as number;
    targets.push({
      name,
      status: verdict(ratio >= IN_MEMORY_THROUGHPUT),
      detail: `${(ratio * 100).toFixed(0)}%`,
    });
  }
  const measured = endpoints.filter((e) => e.api.usage);
  if (measured.length > 0) {
    const peak = Math.max(...measured.map((e) => e.api.usage?.maxRssBytes ?? 0));
    targets.push({
      name: `API peak RSS under load < ${mb(API_RSS_LIMIT_BYTES)}`,
      status: verdict(peak < API_RSS_LIMIT_BYTES),
      detail: `${mb(peak)} (the process's high-water mark after the last measured run)`,
    });
  }
  return targets;
}
