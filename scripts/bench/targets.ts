import type { EndpointResult } from './endpoints.ts';
import type { OdmResult } from './odm.ts';
import type { BackupResult, MigrationResult } from './operations.ts';

export interface Target {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

const MB = 1024 * 1024;
const RSS_LIMIT_BYTES = 300 * MB;
const API_RSS_LIMIT_BYTES = 150 * MB;
// The API's CPU per request over the baseline's and over Express alone's; Mongoose's over the
// driver's for the same commands.
const CPU_RATIO_LIMIT = 1.3;
const FLOOR_CPU_LIMIT = 1.1;
const ODM_CPU_LIMIT = 1.25;
const MIGRATION_TARGET_DOCS = 1_000_000;
const BIGGER = '--migration-docs 1000000 measures the target';
// Below this, a ratio says more about chance than about the code.
const MIN_REQUESTS = 20;

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const x2 = (ratio: number) => `${ratio.toFixed(2)}x`;
const micros = (a: number, b: number) => `${a.toFixed(0)} µs vs ${b.toFixed(0)} µs`;
const verdict = (name: string, ok: boolean, detail: string): Target => {
  return { name, status: ok ? 'PASS' : 'FAIL', detail };
};
const skip = (name: string, detail: string): Target => ({ name, status: 'SKIP', detail });
const notRun = (name: string, phase: string) => skip(name, `not run (--only without ${phase})`);

/** The API's CPU per request over another server's, on every read that server served. */
function cpuTargets(reads: EndpointResult[], other: 'baseline' | 'floor', limit: number) {
  const [label, missing] =
    other === 'baseline'
      ? [`CPU per request <= ${limit}x baseline`, "the baseline's CPU was not measured"]
      : [
          `API CPU per request <= ${limit}x Express alone`,
          'Express alone not measured: run with --floor (--check turns it on)',
        ];
  if (reads.length === 0) return [notRun(`every read: ${label}`, 'http')];
  return reads.map((e) => {
    const name = `${e.name} ${label}`;
    const [a, b] = [e.api.usage, e[other]?.usage];
    if (!b) return skip(name, missing);
    if (Math.min(a.requests, b.requests) < MIN_REQUESTS) {
      const counts = `${a.requests} and ${b.requests}`;
      return skip(name, `only ${counts} requests completed: lengthen --duration or lower --scale`);
    }
    const ratio = a.cpuMicrosPerRequest / b.cpuMicrosPerRequest;
    const detail = `${micros(a.cpuMicrosPerRequest, b.cpuMicrosPerRequest)} (${x2(ratio)})`;
    return verdict(name, ratio <= limit, detail);
  });
}

/** Mongoose's client CPU per read over the driver's for the same commands. */
function odmTargets(odm: OdmResult[] | undefined): Target[] {
  const label = (read: string) =>
    `${read} Mongoose read <= ${ODM_CPU_LIMIT}x driver read (client CPU)`;
  if (!odm) return [notRun(label('every read:'), 'odm')];
  return odm.map((o) => {
    if (!(o.driverMicros > 0) || !(o.mongooseMicros > 0)) {
      return skip(label(o.name), 'no CPU time measured');
    }
    const ratio = o.mongooseMicros / o.driverMicros;
    const rounds = o.perRound.mongoose.map((m, i) => m / (o.perRound.driver[i] ?? Number.NaN));
    const spread = `${x2(Math.min(...rounds))}-${x2(Math.max(...rounds))}`;
    const detail = `${micros(o.mongooseMicros, o.driverMicros)} (${x2(ratio)}; rounds ${spread})`;
    return verdict(label(o.name), ratio <= ODM_CPU_LIMIT, detail);
  });
}

/** At most 3 commands per list endpoint, 2 for a post; the token check is said apart. */
function commandTargets(endpoints: EndpointResult[]): Target[] {
  return endpoints.flatMap((e) => {
    const limit = e.name === 'GET /api/posts/:id' ? 2 : e.list ? 3 : undefined;
    if (limit === undefined) return [];
    const { api, tokenCheck } = e.commands;
    const without = api.length - tokenCheck;
    const detail =
      tokenCheck > 0
        ? `${api.length}, of which ${tokenCheck} token check (${without} without it: ` +
          `${without <= limit ? 'within' : 'over'} the limit)`
        : `${api.length}`;
    return [verdict(`${e.name} <= ${limit} database commands`, api.length <= limit, detail)];
  });
}

type Measured = {
  endpoints: EndpointResult[];
  migration?: MigrationResult;
  backup?: BackupResult;
  odm?: OdmResult[];
};

/** The migration's peak RSS, once it ran over the target's million documents. */
function migrationTarget(m?: MigrationResult): Target {
  const name = 'migration over 1M documents: peak RSS < 300 MB';
  if (!m) return notRun(name, 'migration');
  const peak = `peak ${mb(m.memory.largestBytes)}`;
  if (m.docs >= MIGRATION_TARGET_DOCS) {
    return verdict(name, m.memory.largestBytes < RSS_LIMIT_BYTES, `${m.docs} documents, ${peak}`);
  }
  return skip(name, `ran over ${m.docs} documents (${peak}); ${BIGGER}`);
}

/** The API's peak RSS under load, the migration's and the backup's. */
function memoryTargets({ endpoints, migration, backup: b }: Measured): Target[] {
  const api = `API peak RSS under load < ${mb(API_RSS_LIMIT_BYTES)}`;
  const apiPeak = Math.max(...endpoints.map((e) => e.api.usage.maxRssBytes));
  const apiDetail = `${mb(apiPeak)} (the process's high-water mark after the last measured run)`;
  const backup = 'backup and verify: peak RSS < 300 MB';
  const backupPeak = b && Math.max(b.backup.memory.largestBytes, b.verify.memory.largestBytes);
  return [
    ...(endpoints.length > 0 ? [verdict(api, apiPeak < API_RSS_LIMIT_BYTES, apiDetail)] : []),
    migrationTarget(migration),
    backupPeak === undefined
      ? notRun(backup, 'backup')
      : verdict(backup, backupPeak < RSS_LIMIT_BYTES, `largest process ${mb(backupPeak)}`),
  ];
}

/** PASS, FAIL or SKIP (with why) for every target of docs/benchmarks.md; parts not run are SKIP. */
export function evaluateTargets(input: Measured): Target[] {
  const reads = input.endpoints.filter((e) => e.baseline);
  return [
    ...cpuTargets(reads, 'baseline', CPU_RATIO_LIMIT),
    ...cpuTargets(reads, 'floor', FLOOR_CPU_LIMIT),
    ...odmTargets(input.odm),
    ...commandTargets(input.endpoints),
    ...memoryTargets(input),
  ];
}
