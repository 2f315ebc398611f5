import { deepStrictEqual } from 'node:assert';
import { BSON, type Db, type Document } from 'mongodb';
import type { Database } from '../../src/db/connection.ts';
import { getFeed } from '../../src/feed/service.ts';
import { connectDatabase } from '../../src/models.ts';
import { findPostPage, findPostView, findUserPostPage } from '../../src/posts/queries.ts';
import { postLists } from '../../src/posts/schemas.ts';
import type { PageRequest } from '../../src/shared/page.ts';
import { driverFeed, driverPostPage, driverPostView, driverUserPostPage } from './baseline.ts';
import { commandLabel, recordCommands } from './endpoints.ts';
import type { Dataset } from './seed.ts';

/**
 * The ODM's price, measured in this process (`npm run bench -- --only odm`): each read endpoint's
 * query as the app runs it through Mongoose (src/posts/queries.ts, the feed's service) against
 * driver calls that send exactly the same commands and return the same views, in client CPU per
 * operation (process.cpuUsage over many operations, the two sides taking turns in rounds after
 * a warm-up). Before measuring, each pair is run on a monitored connection: the run fails when
 * the commands or the answers differ, since then it would measure other work. Not part of the app.
 */

const PAGE: PageRequest = { limit: 20 };

export interface OdmOptions {
  /** Operations per side in each measured round. */
  iterations: number;
  /** Rounds, the two sides taking turns (Mongoose first in even rounds). */
  rounds: number;
  /** Operations per side before the first round (V8 compiles the hot code meanwhile). */
  warmup: number;
}

export interface OdmResult {
  name: string;
  /** The commands each side sends per operation, as "command collection". */
  commands: string[];
  iterations: number;
  rounds: number;
  /** Client CPU per operation (user + system, µs) over all rounds. */
  mongooseMicros: number;
  driverMicros: number;
  /** Each round's figures, in the order measured. */
  perRound: { mongoose: number[]; driver: number[] };
}

// --- The pairs ----------------------------------------------------------------------------------

/** One read, as the app runs it through Mongoose and as the same commands through the driver. */
export interface Pair {
  name: string;
  mongoose: (db: Database, i: number) => Promise<unknown>;
  driver: (raw: Db, i: number) => Promise<unknown>;
}

export function readPairs(data: Dataset): Pair[] {
  const nth = <T>(xs: T[], i: number) => xs[i % xs.length] as T;
  const authors = data.userIds.slice(0, 20);
  const me = data.feedUserId;
  // The feed's reader, confirmed by the record its query reads (the token check is not the ODM's).
  const reader = {
    id: me.toHexString(),
    confirm: async () => ({ id: me.toHexString(), username: '' }),
    confirmed: undefined,
  };
  return [
    {
      name: 'GET /api/posts',
      mongoose: (db) => findPostPage(db, postLists.all({}), {}, PAGE),
      driver: (raw) => driverPostPage(raw, postLists.all({}), {}, PAGE),
    },
    {
      name: 'GET /api/users/:id/posts',
      mongoose: (db, i) => findUserPostPage(db, nth(authors, i).toHexString(), PAGE),
      driver: (raw, i) => driverUserPostPage(raw, nth(authors, i), PAGE),
    },
    {
      name: 'GET /api/feed',
      mongoose: (db) => getFeed(db, reader, PAGE),
      driver: (raw) => driverFeed(raw, me, PAGE),
    },
    {
      name: 'GET /api/posts/:id',
      mongoose: (db, i) => findPostView(db, nth(data.samplePostIds, i).toHexString()),
      driver: (raw, i) => driverPostView(raw, nth(data.samplePostIds, i)),
    },
  ];
}

// --- Checking that both sides do the same work ------------------------------------------------

const SESSION_FIELDS = new Set(['lsid', '$clusterTime', 'txnNumber', '$db']);

/** A command as sent, without what differs between any two sends (session, cluster time). */
function normalized(command: Document): string {
  const kept = Object.fromEntries(Object.entries(command).filter(([k]) => !SESSION_FIELDS.has(k)));
  return BSON.EJSON.stringify(kept, { relaxed: false });
}

async function recorded(monitored: Database, dbName: string, run: () => Promise<unknown>) {
  const recording = recordCommands(monitored.connection.getClient(), dbName);
  try {
    return { result: await run(), events: recording.events };
  } finally {
    recording.stop();
  }
}

/**
 * Runs each side of `pair` for several inputs on a monitored connection; throws, naming the
 * first difference, unless both sent the same commands (same filters, projections, sorts,
 * limits, read concern) and returned the same data. Returns the commands as "name collection".
 */
export async function assertSameWork(
  monitored: Database,
  dbName: string,
  pair: Pair,
  inputs = 3,
): Promise<string[]> {
  const raw = monitored.connection.getClient().db(dbName);
  let names: string[] = [];
  for (let i = 0; i < inputs; i += 1) {
    const m = await recorded(monitored, dbName, () => pair.mongoose(monitored, i));
    const d = await recorded(monitored, dbName, () => pair.driver(raw, i));
    const mongooseCommands = m.events.map((e) => normalized(e.command));
    const driverCommands = d.events.map((e) => normalized(e.command));
    if (mongooseCommands.join('\n') !== driverCommands.join('\n')) {
      throw new Error(
        `${pair.name}: the driver side does not send Mongoose's commands\n` +
          `  Mongoose: ${mongooseCommands.join('\n            ')}\n` +
          `  driver:   ${driverCommands.join('\n            ')}`,
      );
    }
    try {
      deepStrictEqual(d.result, m.result);
    } catch {
      throw new Error(`${pair.name}: the driver side does not return Mongoose's answer`);
    }
    names = m.events.map(commandLabel);
  }
  if (names.length === 0) throw new Error(`${pair.name}: no command was recorded`);
  return names;
}

// --- Measuring ----------------------------------------------------------------------------------

async function cpuPerOperation(run: (i: number) => Promise<unknown>, n: number) {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i += 1) await run(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
type Side = (i: number) => Promise<unknown>;

/** One pair after its warm-up: the two sides taking turns, round by round. */
async function measurePair(
  name: string,
  sides: { mongoose: Side; driver: Side },
  commands: string[],
  options: OdmOptions,
): Promise<OdmResult> {
  for (const run of Object.values(sides)) await cpuPerOperation(run, options.warmup);
  const perRound = { mongoose: [] as number[], driver: [] as number[] };
  for (let round = 0; round < options.rounds; round += 1) {
    const order =
      round % 2 === 0 ? (['mongoose', 'driver'] as const) : (['driver', 'mongoose'] as const);
    for (const side of order) {
      perRound[side].push(await cpuPerOperation(sides[side], options.iterations));
    }
  }
  const { iterations, rounds } = options;
  const [mongooseMicros, driverMicros] = [mean(perRound.mongoose), mean(perRound.driver)];
  return { name, commands, iterations, rounds, perRound, mongooseMicros, driverMicros };
}

/**
 * The micro-benchmark over the seeded bench database: a connection without command monitoring
 * for the timed runs (both sides use its client), a monitored one for the check before them.
 */
export async function measureOdm(
  uri: string,
  dbName: string,
  data: Dataset,
  options: OdmOptions,
  log: (m: string) => void,
): Promise<OdmResult[]> {
  const monitored = await connectDatabase(uri, { dbName, monitorCommands: true, poolSize: 1 });
  const timed = await connectDatabase(uri, { dbName, poolSize: 1 });
  const raw = timed.connection.getClient().db(dbName);
  const results: OdmResult[] = [];
  try {
    for (const pair of readPairs(data)) {
      const commands = await assertSameWork(monitored, dbName, pair);
      const sides = {
        mongoose: (i: number) => pair.mongoose(timed, i),
        driver: (i: number) => pair.driver(raw, i),
      };
      const r = await measurePair(pair.name, sides, commands, options);
      const ratio = (r.mongooseMicros / r.driverMicros).toFixed(2);
      log(
        `${pair.name}: Mongoose ${r.mongooseMicros.toFixed(0)} µs, driver ` +
          `${r.driverMicros.toFixed(0)} µs of client CPU per read (${ratio}x)`,
      );
      results.push(r);
    }
  } finally {
    await Promise.all([monitored.close(), timed.close()]);
  }
  return results;
}
