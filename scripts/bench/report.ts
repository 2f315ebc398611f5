import type { DepthSeries } from './depth.ts';
import type { BackupResult, MigrationResult } from './operations.ts';
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

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The whole report as Markdown: readable in a terminal, pasted as is into docs/benchmarks.md. */
export function renderReport(r: {
  environment: Environment;
  endpoints: EndpointResult[];
  depth: DepthSeries;
  compression: Compression;
  migration: MigrationResult;
  backup: BackupResult;
  targets: Target[];
}): string {
  const e = r.environment;
  const parts: string[] = [];
  parts.push(
    `Run ${e.date} on ${e.cpu} (${e.cores} cores, ${e.memoryGb} GB), ${e.os}, Node ${e.node}; ` +
      `engine ${e.engine}; dataset ${e.dataset}; load ${e.load}.`,
  );
  parts.push(
    table(
      [
        'endpoint',
        'API req/s',
        'baseline req/s',
        'API/baseline',
        'API p50 / p99 ms',
        'baseline p50 / p99 ms',
        'commands API / baseline',
      ],
      r.endpoints.map((x) => [
        x.name,
        n1(x.api.rps),
        x.baseline ? n1(x.baseline.rps) : '–',
        x.ratio === undefined ? '–' : `${n0(x.ratio * 100)}%`,
        `${x.api.latencyMs.p50} / ${x.api.latencyMs.p99}`,
        x.baseline ? `${x.baseline.latencyMs.p50} / ${x.baseline.latencyMs.p99}` : '–',
        `${x.apiCommands.length}${x.tokenCheck ? ` (${x.tokenCheck} token check)` : ''} / ${
          x.baselineCommands ? x.baselineCommands.length : '–'
        }`,
      ]),
    ),
  );
  parts.push(
    `Commands per request (steady state; the first authenticated request of a minute adds the lastSeen write):\n\n${r.endpoints
      .map(
        (x) =>
          `- ${x.name}: ${x.apiCommands.join(', ')}${x.apiFirstCommands.length > x.apiCommands.length ? ` (first of the minute: ${x.apiFirstCommands.join(', ')})` : ''}`,
      )
      .join('\n')}`,
  );
  const d = r.depth;
  parts.push(
    table(
      [
        'page at depth',
        'posts skipped',
        'API cursor p50 / p99 ms',
        'raw cursor p50 / p99 ms',
        'raw skip/limit p50 / p99 ms',
        'requests (API, raw, skip)',
      ],
      d.apiCursor.map((a, i) => {
        const c = d.rawCursor[i];
        const s = d.rawSkip[i];
        return [
          `${n0(a.depth * 100)}%`,
          String(a.offset),
          `${a.p50} / ${a.p99}`,
          c ? `${c.p50} / ${c.p99}` : '–',
          s ? `${s.p50} / ${s.p99}` : '–',
          `${a.requests}, ${c?.requests ?? '–'}, ${s?.requests ?? '–'}`,
        ];
      }),
    ),
  );
  const c = r.compression;
  parts.push(
    `Compression of a page of 20 posts: ${c.jsonBytes} B of JSON, ${c.gzipBytes} B gzipped, ` +
      `${n0(c.microsecondsPerResponse)} µs of CPU per response (zlib level 6).`,
  );
  const m = r.migration;
  const b = r.backup;
  const mem = (x: {
    memory: { largestBytes: number; largestName: string; treePeakBytes: number };
  }) =>
    `peak RSS ${n0(x.memory.largestBytes / MB)} MB (${x.memory.largestName}), tree ${n0(x.memory.treePeakBytes / MB)} MB`;
  parts.push(
    table(
      ['operation', 'figures'],
      [
        [
          `migration over ${m.collection}`,
          `${m.docs} documents in ${n1(m.seconds)} s: ${n0(m.docsPerSecond)} docs/s, ${mem(m)}`,
        ],
        ...(b.missing || !b.backup || !b.verify
          ? [['npm run backup / backup:verify', `not measured: ${b.missing}`]]
          : [
              [
                'npm run backup',
                `${n1(b.backup.seconds)} s, ${(b.backup.dataBytes / 1e6).toFixed(2)} MB of data (${n1(b.backup.mbPerSecond)} MB/s), archive ${(b.backup.archiveBytes / 1e6).toFixed(2)} MB, ${mem(b.backup)}`,
              ],
              ['npm run backup:verify', `${n1(b.verify.seconds)} s, ${mem(b.verify)}`],
            ]),
      ],
    ),
  );
  parts.push(
    `\`\`\`\n${r.targets.map((t) => `${t.status} ${t.name}: ${t.detail}`).join('\n')}\n\`\`\``,
  );
  return `${parts.join('\n\n')}\n`;
}
