import type { OperationResult } from './comparison.ts';
import type { StorageRow } from './storage.ts';

export interface ScaleResult {
  scale: number;
  users: number;
  posts: number;
  follows: number;
  /** os.loadavg() before and after the scale's measurement: the machine's other work. */
  loadBefore: number[];
  loadAfter: number[];
  operations: OperationResult[];
  storage: StorageRow[];
}

export interface CompareResult {
  date: string;
  machine: string;
  engines: { sql: string; doc: string };
  iterations: number;
  scales: ScaleResult[];
}

const na = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : String(n));
const pair = (a: string, b: string) => `${a} / ${b}`;
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');

function examined(f: OperationResult['doc']): string {
  if (f.examined === null) return 'n/a';
  return f.keys === undefined ? String(f.examined) : `${f.examined} (${na(f.keys)} keys)`;
}

function operationTable(s: ScaleResult): string[] {
  const lines = [
    '| operation | round trips SQL / doc | examined: SQL rows / doc documents | p50 ms SQL / doc | p99 ms SQL / doc |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const op of s.operations) {
    lines.push(
      `| ${op.name} | ${pair(String(op.sql.roundTrips), String(op.doc.roundTrips))} | ${pair(examined(op.sql), examined(op.doc))} | ${pair(op.sql.p50.toFixed(2), op.doc.p50.toFixed(2))} | ${pair(op.sql.p99.toFixed(2), op.doc.p99.toFixed(2))} |`,
    );
  }
  return lines;
}

function storageTable(s: ScaleResult): string[] {
  const lines = [
    '| bytes per | SQL tables | SQL data + indexes | documents | doc data + indexes |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of s.storage) {
    const doc = row.doc
      ? [row.doc.collections.join(' + '), `${row.doc.data} + ${row.doc.indexes}`]
      : ['n/a', 'n/a (no collStats)'];
    lines.push(
      `| ${row.entity} (${row.count}) | ${row.sql.tables.join(' + ')} | ${row.sql.data} + ${row.sql.indexes} | ${doc.join(' | ')} |`,
    );
  }
  return lines;
}

/** The Markdown report: one table of operations and one of storage per scale. */
export function renderReport(r: CompareResult): string {
  const lines = [
    `# SQL and documents, side by side (${r.date})`,
    '',
    `- machine: ${r.machine}`,
    `- SQL: ${r.engines.sql}; documents: ${r.engines.doc}`,
    `- ${r.iterations} timed runs per operation and side, taking turns; page size 20`,
  ];
  for (const s of r.scales) {
    lines.push(
      '',
      `## Scale ${s.scale}: ${s.users} users, ${s.posts} posts, ${s.follows} follows`,
      '',
      `Load average (1, 5, 15 min) before: ${load(s.loadBefore)}; after: ${load(s.loadAfter)}.`,
      '',
      ...operationTable(s),
      '',
      ...storageTable(s),
    );
  }
  return `${lines.join('\n')}\n`;
}
