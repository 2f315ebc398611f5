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
// Below this, a ratio says more about chance than about the code.
const MIN_REQUESTS = 20;

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const x2 = (ratio: number) => `${ratio.toFixed(2)}x`;
const verdict = (name: string, ok: boolean, detail: string): Target => ({
  name,
  status: ok ? 'PASS' : 'FAIL',
  detail,
});
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
    const a = e.api.usage;
    const b = e[other]?.usage;
    if (!b) return skip(name, missing);
    if (Math.min(a.requests, b.requests) < MIN_REQUESTS) {
      const counts = `${a.requests} and ${b.requests}`;
      return skip(name, `only ${counts} requests completed: lengthen --duration or lower --scale`);
    }
    const ratio = a.cpuMicrosPerRequest / b.cpuMicrosPerRequest;
    const micros = `${a.cpuMicrosPerRequest.toFixed(0)} µs vs ${b.cpuMicrosPerRequest.toFixed(0)} µs`;
    return verdict(name, ratio <= limit, `${micros} (${x2(ratio)})`);
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
    const micros = `${o.mongooseMicros.toFixed(0)} µs vs ${o.driverMicros.toFixed(0)} µs`;
    return verdict(
      label(o.name),
      ratio <= ODM_CPU_LIMIT,
      `${micros} (${x2(ratio)}; rounds ${spread})`,
    );
  });
}

/** At most 3 commands per list endpoint, 2 for a post; the token check is said apart. */
function commandTargets(endpoints: EndpointResult[]): Target[] {
  return endpoints.flatMap((e) => {
    const limit = e.name === 'GET /api/posts/:id' ? 2 : e.list ? 3 : undefined;
    if (limit === undefined) return [];
    const n = e.apiCommands.length;
    const without = n - e.tokenCheck;
    const detail =
      e.tokenCheck > 0
        ? `${n}, of which ${e.tokenCheck} token check (${without} without it: ` +
          `${without <= limit ? 'within' : 'over'} the limit)`
        : `${n}`;
    return [verdict(`${e.name} <= ${limit} database commands`, n <= limit, detail)];
  });
}

/** The API's peak RSS under load, the migration's and the backup's. */
function memoryTargets(input: Parameters<typeof evaluateTargets>[0]): Target[] {
  const targets: Target[] = [];
  if (input.endpoints.length > 0) {
    const peak = Math.max(...input.endpoints.map((e) => e.api.usage.maxRssBytes));
    const detail = `${mb(peak)} (the process's high-water mark after the last measured run)`;
    targets.push(
      verdict(
        `API peak RSS under load < ${mb(API_RSS_LIMIT_BYTES)}`,
        peak < API_RSS_LIMIT_BYTES,
        detail,
      ),
    );
  }
  const m = input.migration;
  const migration = 'migration over 1M documents: peak RSS < 300 MB';
  if (!m) targets.push(notRun(migration, 'migration'));
  else if (m.docs < MIGRATION_TARGET_DOCS) {
    const detail = `ran over ${m.docs} documents (peak ${mb(m.memory.largestBytes)}); --migration-docs 1000000 measures the target`;
    targets.push(skip(migration, detail));
  } else {
    const detail = `${m.docs} documents, peak ${mb(m.memory.largestBytes)}`;
    targets.push(verdict(migration, m.memory.largestBytes < RSS_LIMIT_BYTES, detail));
  }
  const b = input.backup;
  const backup = 'backup and verify: peak RSS < 300 MB';
  if (!b) targets.push(notRun(backup, 'backup'));
  else {
    const peak = Math.max(b.backup.memory.largestBytes, b.verify.memory.largestBytes);
    targets.push(verdict(backup, peak < RSS_LIMIT_BYTES, `largest process ${mb(peak)}`));
  }
  return targets;
}

/** PASS, FAIL or SKIP (with why) for every target of docs/benchmarks.md; parts not run are SKIP. */
export function evaluateTargets(input: {
  endpoints: EndpointResult[];
  migration?: MigrationResult;
  backup?: BackupResult;
  odm?: OdmResult[];
}): Target[] {
  const reads = input.endpoints.filter((e) => e.baseline);
  return [
    ...cpuTargets(reads, 'baseline', CPU_RATIO_LIMIT),
    ...cpuTargets(reads, 'floor', FLOOR_CPU_LIMIT),
    ...odmTargets(input.odm),
    ...commandTargets(input.endpoints),
    ...memoryTargets(input),
  ];
}
