import type { Document } from 'mongodb';
import type pg from 'pg';
import type { Database } from '../../src/db/connection.ts';
import type { Sql } from './sides.ts';

/** What an operation sent and read: statements or commands, and rows or documents examined. */
export interface Examined {
  roundTrips: number;
  /** null where the engine does not say (FerretDB's explain has no executionStats). */
  examined: number | null;
  /** Index keys the document side read (MongoDB's totalKeysExamined); null where unknown. */
  keys?: number | null;
}

const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|ROLLBACK)$/;
// Table reads; bitmap index scans are left out, their rows are counted by the heap scan.
const TABLE_SCANS = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan']);

type PlanNode = Record<string, unknown> & { Plans?: PlanNode[] };

/** Rows each table scan of an EXPLAIN ANALYZE plan returned or discarded, times its loops. */
function rowsRead(node: PlanNode): number {
  let rows = 0;
  if (TABLE_SCANS.has(node['Node Type'] as string)) {
    const perLoop =
      Number(node['Actual Rows'] ?? 0) +
      Number(node['Rows Removed by Filter'] ?? 0) +
      Number(node['Rows Removed by Index Recheck'] ?? 0);
    rows += perLoop * Number(node['Actual Loops'] ?? 1);
  }
  for (const child of node.Plans ?? []) rows += rowsRead(child);
  return rows;
}

/**
 * Runs an SQL operation once through a client that counts its statements and, before each, runs
 * it under EXPLAIN ANALYZE in a savepoint that is rolled back; the whole run is one transaction
 * rolled back at the end (the operation's own BEGIN/COMMIT are counted, not sent), so writes
 * leave nothing behind.
 */
export async function examineSql(
  client: pg.Client,
  operation: (sql: Sql) => Promise<unknown>,
): Promise<Examined> {
  let roundTrips = 0;
  let examined = 0;
  const sql: Sql = {
    async query<R extends object>(text: string, values?: unknown[]) {
      roundTrips += 1;
      if (TRANSACTION_CONTROL.test(text)) return [];
      await client.query('SAVEPOINT examine');
      const plan = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
      await client.query('ROLLBACK TO SAVEPOINT examine');
      examined += rowsRead((plan.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]?.Plan ?? {});
      return (await client.query<R>(text, values)).rows;
    },
  };
  await client.query('BEGIN');
  try {
    await operation(sql);
  } finally {
    await client.query('ROLLBACK');
  }
  return { roundTrips, examined };
}

const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions']);

/** Runs fn and returns the commands it sent to the database (driver command monitoring). */
export async function captureCommands(db: Database, fn: () => Promise<unknown>) {
  const commands: Document[] = [];
  const client = db.connection.getClient();
  const listener = (event: { commandName: string; databaseName: string; command: Document }) => {
    if (!HOUSEKEEPING.has(event.commandName) && event.databaseName === db.connection.name)
      commands.push(event.command);
  };
  client.on('commandStarted', listener);
  try {
    await fn();
  } finally {
    client.off('commandStarted', listener);
  }
  return commands;
}

/** The command as explain takes it: without the session, cluster time and target database. */
function bare(command: Document): Document {
  const skip = new Set(['lsid', 'txnNumber', 'autocommit', 'startTransaction', '$db']);
  return Object.fromEntries(
    Object.entries(command).filter(([k]) => !skip.has(k) && !k.startsWith('$')),
  );
}

/** Each statement as a command explain accepts: updates and deletes one statement at a time. */
function explainable(command: Document): Document[] {
  const [name] = Object.keys(command);
  if (name === 'update')
    return command.updates.map((u: Document) => ({ ...command, updates: [u] }));
  if (name === 'delete')
    return command.deletes.map((d: Document) => ({ ...command, deletes: [d] }));
  if (['find', 'count', 'distinct', 'aggregate', 'findAndModify'].includes(String(name)))
    return [command];
  return []; // insert reads no document
}

function stats(explained: Document): Document | undefined {
  return (
    explained.executionStats ??
    explained.stages?.[0]?.$cursor?.executionStats ??
    explained.shards?.[0]?.executionStats
  );
}

/**
 * Runs a document operation once and explains each command it sent (executionStats): the
 * documents and index keys examined, summed. Explained after the fact, against the data the
 * operation left; where an engine's explain has no executionStats, examined is null.
 */
export async function examineDoc(db: Database, fn: () => Promise<unknown>): Promise<Examined> {
  const commands = await captureCommands(db, fn);
  let docs: number | null = 0;
  let keys: number | null = 0;
  for (const command of commands.flatMap((c) => explainable(bare(c)))) {
    const explained = await db.connection.db
      ?.command({ explain: command, verbosity: 'executionStats' })
      .catch(() => undefined);
    const s = explained && stats(explained);
    if (!s) {
      docs = null;
      keys = null;
      break;
    }
    docs = (docs ?? 0) + Number(s.totalDocsExamined ?? 0);
    keys = (keys ?? 0) + Number(s.totalKeysExamined ?? 0);
  }
  return { roundTrips: commands.length, examined: docs, keys };
}
