import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { Database } from '../../src/db/connection.ts';
import { type Dataset, seedDataset } from '../bench/seed.ts';
import type { Answer, ReadOperation } from './answers.ts';
import { type Examined, examineDoc, examineSql } from './examine.ts';
import { loadSqlCopy } from './load-sql.ts';
import { PEOPLE_READS } from './people-reads.ts';
import { POST_READS } from './post-reads.ts';
import { type DocSide, plainSql, type SqlSide, subjectsOf } from './sides.ts';
import { WRITES } from './writes.ts';

export const READS: ReadOperation[] = [...POST_READS, ...PEOPLE_READS];
/** Reads whose answers the writes change: compared again after them. */
const AFTER_WRITES = ['tags, most used first', 'a user with counts'];

export interface Sides {
  data: Dataset;
  sql: SqlSide;
  doc: DocSide;
}

/** Seeds the bench's dataset into the document database, then copies it into PostgreSQL. */
export async function prepareSides(
  db: Database,
  client: pg.Client,
  scale: number,
  log: (m: string) => void,
): Promise<Sides> {
  const raw = db.connection.getClient().db(db.connection.name);
  const data = await seedDataset(raw, scale, log);
  const ids = await loadSqlCopy(raw, client);
  log(`copied ${data.users} users, ${data.posts} posts, ${data.follows} follows into PostgreSQL`);
  const subjects = subjectsOf(data);
  return { data, sql: { sql: plainSql(client), ids, subjects }, doc: { db, subjects } };
}

export interface Mismatch {
  operation: string;
  sql: unknown;
  doc: unknown;
}

/** Up to `pages` pages of a read, each side following its own cursors. */
async function walk(read: (after?: unknown) => Promise<Answer>, pages: number) {
  const items: unknown[] = [];
  let after: unknown;
  for (let page = 0; page < pages; page += 1) {
    const answer = await read(after);
    items.push(...answer.items);
    if (answer.next === null) break;
    after = answer.next;
  }
  return items;
}

async function compareReads(s: Sides, reads: ReadOperation[], pages: number): Promise<Mismatch[]> {
  const mismatches: Mismatch[] = [];
  for (const op of reads) {
    const sql = await walk((after) => op.sql(s.sql, after), pages);
    const doc = await walk((after) => op.doc(s.doc, after), pages);
    if (sql.length === 0 || !isDeepStrictEqual(sql, doc))
      mismatches.push({ operation: op.name, sql, doc });
  }
  return mismatches;
}

/**
 * Every read, `pages` pages deep, both ways; every write once both ways; then the reads the
 * writes changed. An empty answer counts as a mismatch: a check of nothing proves nothing.
 */
export async function compareAnswers(s: Sides, pages = 3): Promise<Mismatch[]> {
  const mismatches = await compareReads(s, READS, pages);
  for (const op of WRITES) {
    const sql = await op.sql(s.sql, 0);
    const doc = await op.doc(s.doc, 0);
    if (!isDeepStrictEqual(sql, doc)) mismatches.push({ operation: op.name, sql, doc });
  }
  const changed = READS.filter((op) => AFTER_WRITES.includes(op.name));
  return [...mismatches, ...(await compareReads(s, changed, pages))];
}

export interface Figures extends Examined {
  p50: number;
  p99: number;
}

export interface OperationResult {
  name: string;
  kind: 'read' | 'write';
  sql: Figures;
  doc: Figures;
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const round = (ms = 0) => Math.round(ms * 100) / 100;
  return { p50: round(rank(0.5)), p99: round(rank(0.99)) };
}

async function elapsed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Round trips and examined rows from one examined run per side, then `iterations` timed runs
 * taking turns (SQL, document, SQL, ...) so that load elsewhere falls on both alike. A write's
 * i-th run writes its i-th post or edge; the examined runs use numbers no timed run uses.
 */
export async function measure(
  s: Sides,
  client: pg.Client,
  iterations: number,
  signal?: AbortSignal,
): Promise<OperationResult[]> {
  // Reads ask for their first page; a write's argument says which post or edge it writes.
  const runs = [
    ...READS.map((op) => ({
      name: op.name,
      kind: 'read' as const,
      sql: (side: SqlSide) => op.sql(side),
      doc: (side: DocSide) => op.doc(side),
    })),
    ...WRITES.map((op) => ({ ...op, kind: 'write' as const })),
  ];
  const results: OperationResult[] = [];
  for (const op of runs) {
    const examinedRun = 1_000_000;
    const sqlExamined = await examineSql(client, (sql) => op.sql({ ...s.sql, sql }, examinedRun));
    const docExamined = await examineDoc(s.doc.db, () => op.doc(s.doc, examinedRun + 1));
    const times = { sql: [] as number[], doc: [] as number[] };
    for (let i = 1; i <= iterations; i += 1) {
      signal?.throwIfAborted();
      times.sql.push(await elapsed(() => op.sql(s.sql, i)));
      times.doc.push(await elapsed(() => op.doc(s.doc, i)));
    }
    results.push({
      name: op.name,
      kind: op.kind,
      sql: { ...sqlExamined, ...percentiles(times.sql) },
      doc: { ...docExamined, ...percentiles(times.doc) },
    });
  }
  return results;
}
