import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { EndpointResult, LoadResult } from './endpoints.ts';
import type { OdmResult } from './odm.ts';
import type { BackupResult, MemoryPeak, MigrationResult } from './operations.ts';
import type { BenchOptions } from './options.ts';
import type { CostShare } from './profile.ts';
import type { Dataset } from './seed.ts';
import type { ProcessUsage } from './serve.ts';
import type { Target } from './targets.ts';

/** What gzip would cost and save on a page of 20 posts (the app does not compress). */
export function measureCompression(page: unknown) {
  const json = JSON.stringify(page);
  let gzipBytes = 0;
  const times: number[] = [];
  for (let i = 0; i < 201; i += 1) {
    const start = performance.now();
    gzipBytes = gzipSync(json).length;
    times.push(performance.now() - start);
  }
  // The median: a shared machine interrupts some calls, and those say nothing about gzip.
  const median = times.sort((a, b) => a - b)[100] ?? 0;
  return { jsonBytes: Buffer.byteLength(json), gzipBytes, microsecondsPerResponse: median * 1000 };
}

const MB = 1024 * 1024;
const n0 = (x: number) => x.toFixed(0);
const n1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mem = (m: MemoryPeak) =>
  `peak RSS ${n0(m.largestBytes / MB)} MB (${m.largestName}), tree ${n0(m.treePeakBytes / MB)} MB`;
const costLine = (costs: CostShare[]) =>
  costs.map((c) => `${c.category} ${c.micros.toFixed(1)}`).join('; ');
const both = (api: string, baseline: string | undefined) => `${api} / ${baseline ?? '–'}`;

/** A Markdown table under `head`, its cells separated by " | ". */
function table(head: string, rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [`| ${head} |`, line(head.split(' | ').map(() => '---')), ...rows.map(line)].join('\n');
}

/** Throughput, latency and commands per request of each endpoint. */
function endpointTable(endpoints: EndpointResult[]): string {
  const latency = (r?: LoadResult) => (r ? `${r.latencyMs.p50} / ${r.latencyMs.p99}` : '–');
  const rows = endpoints.map(({ name, api, baseline, commands: c }) => [
    name,
    both(n1(api.rps), baseline && n1(baseline.rps)),
    baseline ? `${n0((api.rps / baseline.rps) * 100)}%` : '–',
    latency(api),
    latency(baseline),
    both(
      `${c.api.length}${c.tokenCheck ? ` (${c.tokenCheck} token check)` : ''}`,
      c.baseline && `${c.baseline.length}`,
    ),
  ]);
  const head =
    'endpoint | req/s API / baseline | API/baseline | API p50 / p99 ms | baseline p50 / p99 ms | commands API / baseline';
  const lists = endpoints.map(({ name, commands: c }) => {
    const first =
      c.apiFirst.length > c.api.length ? ` (first of the minute: ${c.apiFirst.join(', ')})` : '';
    return `- ${name}: ${c.api.join(', ')}${first}`;
  });
  return `${table(head, rows)}\n\nCommands per request, steady state (the first authenticated request of a minute adds the lastSeen write):\n\n${lists.join('\n')}`;
}

/** Layer by layer, by each server process's own counters: (a) the raw driver, (b) Express alone, (c) the API. */
function usageTable(endpoints: EndpointResult[], rounds: number): string {
  const rows = endpoints.map((x) => {
    const [a, b, c] = [x.baseline?.usage, x.floor?.usage, x.api.usage];
    const cpu = (u?: ProcessUsage) => (u ? n0(u.cpuMicrosPerRequest) : '–');
    const ratio = (u?: ProcessUsage) =>
      u ? `${(c.cpuMicrosPerRequest / u.cpuMicrosPerRequest).toFixed(2)}x` : '–';
    const busy = (u: ProcessUsage) => `${n0(u.eventLoopUtilization * 100)}%`;
    const rss = (u: ProcessUsage) => n0(u.maxRssBytes / MB);
    const cpus = `${cpu(a)} / ${cpu(b)} / ${cpu(c)}`;
    const [busyBoth, rssBoth] = [both(busy(c), a && busy(a)), both(rss(c), a && rss(a))];
    return [x.name, cpus, ratio(a), ratio(b), busyBoth, rssBoth];
  });
  const head =
    'endpoint | CPU µs/req: raw driver (a) / Express alone (b) / API (c) | c / a | c / b | event loop busy API / baseline | peak RSS MB API / baseline';
  const over = rounds > 1 ? ` (${rounds} rounds each, the servers taking turns)` : '';
  return `${table(head, rows)}\n\nEach server process's own counters over the measured runs${over}: docs/benchmarks.md says how.`;
}

const SIDE_LABELS = { api: 'API', floor: 'Express alone', baseline: 'baseline' } as const;

/** The profiled run's top costs per request of each side, and its CPU per request. */
function profileLines(x: EndpointResult): string[] {
  return Object.entries(SIDE_LABELS).flatMap(([side, label]) => {
    const p = x.profiles[side as keyof typeof SIDE_LABELS];
    const cpu = `${n0(p?.usage.cpuMicrosPerRequest ?? 0)} µs CPU/req, ${p?.usage.profile}`;
    return p ? [`- ${x.name}, ${label} profiled (${cpu}): ${costLine(p.costs)}.`] : [];
  });
}

/** Client CPU per read through Mongoose and through the driver, for the same commands. */
function odmTable(results: OdmResult[]): string {
  const ratio = (m: number, d = Number.NaN) => (m / d).toFixed(2);
  const rows = results.map((o) => [
    o.name,
    o.commands.join(', '),
    n0(o.mongooseMicros),
    n0(o.driverMicros),
    `${ratio(o.mongooseMicros, o.driverMicros)}x`,
    o.perRound.mongoose.map((m, i) => ratio(m, o.perRound.driver[i])).join(' '),
  ]);
  const head =
    'read | commands | Mongoose µs/read | driver µs/read | Mongoose / driver | per round';
  const first = results[0] as OdmResult;
  const how = `${first.rounds} rounds of ${first.iterations} reads per side, taking turns, after a warm-up; both sides checked to send the same commands and return the same views`;
  return `${table(head, rows)}\n\nClient CPU (process.cpuUsage) per read (${how}).`;
}

function operationsTable(m?: MigrationResult, b?: BackupResult): string {
  const mb2 = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
  const rows: string[][] = [];
  if (m) {
    const figures = `${m.docs} documents in ${n1(m.seconds)} s: ${n1(m.docsPerSecond)} docs/s`;
    rows.push([`migration over ${m.collection}`, `${figures}, ${mem(m.memory)}`]);
  }
  if (b) {
    const data = `${mb2(b.backup.dataBytes)} of data (${n1(b.backup.mbPerSecond)} MB/s)`;
    const archive = `archive ${mb2(b.backup.archiveBytes)}`;
    rows.push(
      ['npm run backup', `${n1(b.backup.seconds)} s, ${data}, ${archive}, ${mem(b.backup.memory)}`],
      ['npm run backup:verify', `${n1(b.verify.seconds)} s, ${mem(b.verify.memory)}`],
    );
  }
  return table('operation | figures', rows);
}

export interface Measured {
  engine: string;
  options: BenchOptions & { scale: number };
  data: Dataset;
  endpoints: EndpointResult[];
  compression?: ReturnType<typeof measureCompression>;
  odm?: OdmResult[];
  migration?: MigrationResult;
  backup?: BackupResult;
  targets: Target[];
}

/** The run's machine, engine, dataset and load, as the report's first line says them. */
function environmentOf(r: Measured) {
  const cpu = cpus();
  const { options: o, data: d } = r;
  return {
    date: new Date().toISOString(),
    cpu: `${cpu[0]?.model.trim() ?? 'unknown CPU'} (${cpu.length} cores, ${Math.round(totalmem() / 1024 ** 3)} GB)`,
    os: `${type()} ${release()}`,
    node: process.versions.node,
    engine: r.engine,
    dataset:
      `scale ${o.scale}: ${d.users} users, ${d.posts} posts, ${d.follows} follows, ${d.tags} tags; ` +
      `the feed's reader follows ${d.feedFollowees}`,
    load:
      `autocannon, ${o.connections} connections; each server first gets ${o.warmupRequests} ` +
      `requests per read endpoint (at most 30 s), then ${o.warmup} s warm-up + ${o.duration} s per ` +
      `run${o.rounds > 1 ? `, ${o.rounds} rounds taking turns` : ''}; the load generator, the ` +
      'servers and the database share the machine',
  };
}

/** The report as Markdown: readable in a terminal, and pasted as is into docs/benchmarks.md. */
function renderReport(r: Measured, e: ReturnType<typeof environmentOf>): string {
  const parts = [
    `Run ${e.date} on ${e.cpu}, ${e.os}, Node ${e.node}; engine ${e.engine}; dataset ${e.dataset}; load ${e.load}.`,
  ];
  if (r.endpoints.length) {
    parts.push(endpointTable(r.endpoints), usageTable(r.endpoints, r.options.rounds));
  }
  const profiles = r.endpoints.flatMap(profileLines);
  if (profiles.length)
    parts.push(`CPU µs per request by part of the stack:\n\n${profiles.join('\n')}`);
  if (r.odm?.length) parts.push(odmTable(r.odm));
  const c = r.compression;
  if (c) {
    parts.push(
      `Compression of a page of 20 posts: ${c.jsonBytes} B of JSON, ${c.gzipBytes} B gzipped, ` +
        `${n0(c.microsecondsPerResponse)} µs of CPU per response (zlib level 6).`,
    );
  }
  if (r.migration || r.backup) parts.push(operationsTable(r.migration, r.backup));
  parts.push(
    `\`\`\`\n${r.targets.map((t) => `${t.status} ${t.name}: ${t.detail}`).join('\n')}\n\`\`\``,
  );
  return `${parts.join('\n\n')}\n`;
}

/** Writes bench/results/<timestamp>.json (everything) and .md (the report); returns the report. */
export function writeResults(root: string, r: Measured): { report: string; files: string } {
  const environment = environmentOf(r);
  const report = renderReport(r, environment);
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = environment.date.replace(/[:.]/g, '-');
  const { userIds: _u, samplePostIds: _p, ...dataset } = r.data;
  const { data: _d, options: o, ...measured } = r;
  const everything = { environment, dataset, ...measured, options: { ...o, only: [...o.only] } };
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(everything, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), report);
  return { report, files: `bench/results/${stamp}.{json,md}` };
}
