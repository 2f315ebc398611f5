import type { OdmResult } from './odm.ts';
import type { BackupResult, MigrationResult } from './operations.ts';
import type { MemoryPeak } from './processes.ts';
import type { EndpointResult, Target } from './targets.ts';

export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  engine: string;
  dataset: string;
  load: string;
}

export interface Compression {
  jsonBytes: number;
  gzipBytes: number;
  microsecondsPerResponse: number;
}

const MB = 1024 * 1024;
const n0 = (x: number) => x.toFixed(0);
const n1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mem = (m: MemoryPeak) =>
  `peak RSS ${n0(m.largestBytes / MB)} MB (${m.largestName}), tree ${n0(m.treePeakBytes / MB)} MB`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function endpointTable(endpoints: EndpointResult[]): string {
  const head = ['endpoint', 'API req/s', 'baseline req/s', 'API/baseline', 'API p50 / p99 ms'];
  head.push('baseline p50 / p99 ms', 'commands API / baseline');
  const rows = endpoints.map((x) => [
    x.name,
    n1(x.api.rps),
    x.baseline ? n1(x.baseline.rps) : '–',
    x.ratio === undefined || !Number.isFinite(x.ratio) ? '–' : `${n0(x.ratio * 100)}%`,
    `${x.api.latencyMs.p50} / ${x.api.latencyMs.p99}`,
    x.baseline ? `${x.baseline.latencyMs.p50} / ${x.baseline.latencyMs.p99}` : '–',
    `${x.apiCommands.length}${x.tokenCheck ? ` (${x.tokenCheck} token check)` : ''} / ${
      x.baselineCommands?.length ?? '–'
    }`,
  ]);
  const lists = endpoints.map((x) => {
    const first =
      x.apiFirstCommands.length > x.apiCommands.length
        ? ` (first of the minute: ${x.apiFirstCommands.join(', ')})`
        : '';
    return `- ${x.name}: ${x.apiCommands.join(', ')}${first}`;
  });
  return `${table(head, rows)}\n\nCommands per request, steady state (the first authenticated request of a minute adds the lastSeen write):\n\n${lists.join('\n')}`;
}

const us = (x: number) => x.toFixed(0);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** What each server process spent, by its own counters over the measured runs. */
function usageTable(endpoints: EndpointResult[]): string {
  const head = ['endpoint', 'API CPU µs/req', 'baseline CPU µs/req', 'API/baseline CPU'];
  head.push(
    'API / baseline event loop busy',
    'API / baseline peak RSS MB',
    'requests API / baseline',
  );
  const floors = endpoints.some((x) => x.floor?.usage);
  if (floors) head.push('Express alone CPU µs/req (x baseline)');
  const rows = endpoints
    .filter((x) => x.api.usage)
    .map((x) => {
      const a = x.api.usage as NonNullable<typeof x.api.usage>;
      const b = x.baseline?.usage;
      const f = x.floor?.usage;
      const floor = f
        ? [
            `${us(f.cpuMicrosPerRequest)}${b ? ` (${(f.cpuMicrosPerRequest / b.cpuMicrosPerRequest).toFixed(2)}x)` : ''}`,
          ]
        : floors
          ? ['–']
          : [];
      return [
        x.name,
        us(a.cpuMicrosPerRequest),
        b ? us(b.cpuMicrosPerRequest) : '–',
        b ? `${(a.cpuMicrosPerRequest / b.cpuMicrosPerRequest).toFixed(2)}x` : '–',
        `${pct(a.eventLoopUtilization)} / ${b ? pct(b.eventLoopUtilization) : '–'}`,
        `${n0(a.maxRssBytes / MB)} / ${b ? n0(b.maxRssBytes / MB) : '–'}`,
        `${a.requests} / ${b?.requests ?? '–'}`,
        ...floor,
      ];
    });
  const rounds = endpoints[0]?.rounds.api.length ?? 1;
  return `${table(head, rows)}\n\nCPU is user + system time of the whole server process (process.cpuUsage) over the measured runs${
    rounds > 1 ? ` (${rounds} rounds each, API and baseline taking turns)` : ''
  }, divided by the requests it received${
    floors
      ? '; "Express alone" is the same read on bare Express routes calling the same service code (scripts/bench/express-floor.ts: no middleware, validation or logging), measured in the same rounds'
      : ''
  }; event loop busy is performance.eventLoopUtilization over the same window; peak RSS is the process's high-water mark (resourceUsage().maxRSS).`;
}

/** The profiled run's top costs per request: the API beside Express alone (with --floor); the baseline's. */
function profileTable(endpoints: EndpointResult[]): string {
  const parts: string[] = [];
  const line = (costs: { category: string; micros: number }[]) =>
    costs.map((c) => `${c.category} ${c.micros.toFixed(1)}`).join('; ');
  for (const x of endpoints) {
    const api = x.profiles.api;
    if (!api) continue;
    const base = x.profiles.baseline;
    const floor = x.profiles.floor;
    const floorCosts = new Map(floor?.costs.map((c) => [c.category, c.micros]));
    const shown = (m: number | undefined) => (m === undefined ? '–' : m.toFixed(1));
    const rows = api.costs.map((c) => [
      c.category,
      c.micros.toFixed(1),
      ...(floor ? [shown(floorCosts.get(c.category))] : []),
    ]);
    const head = [`${x.name}: API, profiled`, 'µs/req', ...(floor ? ['Express alone µs/req'] : [])];
    let text = table(head, rows);
    if (floor) text += `\n\nExpress alone, profiled: ${line(floor.costs)}.`;
    if (base) text += `\n\nBaseline, profiled: ${line(base.costs)}.`;
    const cpu = (u: { cpuMicrosPerRequest: number }) => u.cpuMicrosPerRequest.toFixed(0);
    text += ` CPU per request while profiled: API ${cpu(api.usage)} µs${floor ? `, Express alone ${cpu(floor.usage)} µs` : ''}${base ? `, baseline ${cpu(base.usage)} µs` : ''}; profiles in ${api.usage.profile?.replace(/[^/]*$/, '')}.`;
    parts.push(text);
  }
  return parts.join('\n\n');
}

/**
 * The read endpoints layer by layer, in CPU per request of each server process: the raw driver
 * on node:http, bare Express calling the service code (Mongoose reads included), the API.
 */
export function layerTable(endpoints: EndpointResult[]): string {
  const head = ['endpoint', 'raw driver (a)', 'Express alone (b)', 'API (c)'];
  head.push('b − a: Express + Mongoose', 'c − b: the app’s layers', 'c / b');
  const rows = endpoints
    .filter((x) => x.api.usage && x.baseline?.usage && x.floor?.usage)
    .map((x) => {
      const a = x.baseline?.usage?.cpuMicrosPerRequest as number;
      const b = x.floor?.usage?.cpuMicrosPerRequest as number;
      const c = x.api.usage?.cpuMicrosPerRequest as number;
      return [x.name, us(a), us(b), us(c), us(b - a), us(c - b), `${(c / b).toFixed(2)}x`];
    });
  return `${table(head, rows)}\n\nCPU µs per request of each server process over the same rounds.`;
}

/** Client CPU per read through Mongoose and through the driver, for the same commands. */
export function odmTable(results: OdmResult[]): string {
  const head = ['read', 'commands', 'Mongoose µs/read', 'driver µs/read', 'Mongoose / driver'];
  head.push('per round');
  const rows = results.map((o) => [
    o.name,
    o.commands.join(', '),
    us(o.mongooseMicros),
    us(o.driverMicros),
    `${(o.mongooseMicros / o.driverMicros).toFixed(2)}x`,
    o.perRound.mongoose
      .map((m, i) => (m / (o.perRound.driver[i] ?? Number.NaN)).toFixed(2))
      .join(' '),
  ]);
  const first = results[0];
  const how = first
    ? ` (${first.rounds} rounds of ${first.iterations} reads per side, taking turns, after a warm-up; both sides checked to send the same commands and return the same views)`
    : '';
  const profiles = results
    .filter((o) => o.profiles)
    .map((o) => {
      const line = (costs: { category: string; micros: number }[]) =>
        costs.map((c) => `${c.category} ${c.micros.toFixed(1)}`).join('; ');
      const p = o.profiles as NonNullable<OdmResult['profiles']>;
      return `- ${o.name}, profiled: Mongoose side: ${line(p.mongoose)}.\n  Driver side: ${line(p.driver)}.`;
    });
  return `${table(head, rows)}\n\nClient CPU (process.cpuUsage) per read${how}.${
    profiles.length ? `\n\n${profiles.join('\n')}` : ''
  }`;
}

function operationsTable(m?: MigrationResult, b?: BackupResult): string {
  const rows: string[][] = [];
  if (m) {
    rows.push([
      `migration over ${m.collection}`,
      `${m.docs} documents in ${n1(m.seconds)} s: ${n1(m.docsPerSecond)} docs/s, ${mem(m.memory)}`,
    ]);
  }
  if (b?.backup && b.verify) {
    const data = `${(b.backup.dataBytes / 1e6).toFixed(2)} MB of data (${n1(b.backup.mbPerSecond)} MB/s)`;
    rows.push(
      [
        'npm run backup',
        `${n1(b.backup.seconds)} s, ${data}, archive ${(b.backup.archiveBytes / 1e6).toFixed(2)} MB, ${mem(b.backup.memory)}`,
      ],
      ['npm run backup:verify', `${n1(b.verify.seconds)} s, ${mem(b.verify.memory)}`],
    );
  } else if (b) {
    rows.push(['npm run backup / backup:verify', `not measured: ${b.missing}`]);
  }
  return table(['operation', 'figures'], rows);
}

/** The report as Markdown: readable in a terminal, and pasted as is into docs/benchmarks.md. */
export function renderReport(r: {
  environment: Environment;
  endpoints: EndpointResult[];
  compression?: Compression;
  odm?: OdmResult[];
  migration?: MigrationResult;
  backup?: BackupResult;
  targets: Target[];
}): string {
  const e = r.environment;
  const parts = [
    `Run ${e.date} on ${e.cpu} (${e.cores} cores, ${e.memoryGb} GB), ${e.os}, Node ${e.node}; ` +
      `engine ${e.engine}; dataset ${e.dataset}; load ${e.load}.`,
  ];
  if (r.endpoints.length) parts.push(endpointTable(r.endpoints));
  if (r.endpoints.some((x) => x.api.usage)) parts.push(usageTable(r.endpoints));
  if (r.endpoints.some((x) => x.floor?.usage)) parts.push(layerTable(r.endpoints));
  if (r.endpoints.some((x) => x.profiles.api)) parts.push(profileTable(r.endpoints));
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
