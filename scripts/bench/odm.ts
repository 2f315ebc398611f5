import { isDeepStrictEqual } from 'node:util';
import { BSON, type Db, type Document } from 'mongodb';
import type { Database } from '../../src/db/connection.ts';
import { getFeed } from '../../src/feed/service.ts';
import { connectDatabase } from '../../src/models.ts';
import { findPostPage, findPostView, findUserPostPage } from '../../src/posts/queries.ts';
import { postLists } from '../../src/posts/schemas.ts';
import type { PageRequest } from '../../src/shared/page.ts';
import { driverFeed, driverPostPage, driverPostView, driverUserPostPage } from './baseline.ts';
import { commandLabel, recordCommands, takeTurns } from './endpoints.ts';
import type { BenchOptions } from './options.ts';
import type { Dataset } from './seed.ts';

// The ODM's price (`npm run bench -- --only odm`, docs/benchmarks.md): each read as the app runs
// it through Mongoose against driver calls checked to send the same commands and return the same
// views, in client CPU per read, in this process.

const PAGE: PageRequest = { limit: 20 };
type OdmOptions = BenchOptions['odm'];

export type OdmResult = Awaited<ReturnType<typeof measureOdm>>[number];

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

const SESSION_FIELDS = new Set(['lsid', '$clusterTime', 'txnNumber', '$db']);

/** A command as sent, without what differs between any two sends (session, cluster time). */
function normalized(command: Document): string {
  const kept = Object.fromEntries(Object.entries(command).filter(([k]) => !SESSION_FIELDS.has(k)));
  return BSON.EJSON.stringify(kept, { relaxed: false });
}

/**
 * Runs each side of `pair` for several inputs on a monitored connection; throws, naming the
 * first difference, unless both sent the same commands and returned the same data.
 */
export async function assertSameWork(monitored: Database, dbName: string, pair: Pair, inputs = 3) {
  const client = monitored.connection.getClient();
  let names: string[] = [];
  for (let i = 0; i < inputs; i += 1) {
    const m = await recordCommands(client, dbName, () => pair.mongoose(monitored, i));
    const d = await recordCommands(client, dbName, () => pair.driver(client.db(dbName), i));
    const mongooseCommands = m.events.map((e) => normalized(e.command));
    const driverCommands = d.events.map((e) => normalized(e.command));
    if (mongooseCommands.join('\n') !== driverCommands.join('\n')) {
      throw new Error(
        `${pair.name}: the driver side does not send Mongoose's commands\n` +
          `  Mongoose: ${mongooseCommands.join('\n            ')}\n` +
          `  driver:   ${driverCommands.join('\n            ')}`,
      );
    }
    if (!isDeepStrictEqual(d.result, m.result)) {
      throw new Error(`${pair.name}: the driver side does not return Mongoose's answer`);
    }
    names = m.events.map(commandLabel);
  }
  if (names.length === 0) throw new Error(`${pair.name}: no command was recorded`);
  return names;
}

async function cpuPerOperation(run: (i: number) => Promise<unknown>, n: number) {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i += 1) await run(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);

/**
 * Per read, a check on a monitored connection, then on an unmonitored one each side warmed up
 * and the two taking turns, round by round.
 */
export async function measureOdm(
  uri: string,
  dbName: string,
  data: Dataset,
  options: OdmOptions,
  log: (m: string) => void,
) {
  const monitored = await connectDatabase(uri, { dbName, monitorCommands: true, poolSize: 1 });
  const timed = await connectDatabase(uri, { dbName, poolSize: 1 });
  const raw = timed.connection.getClient().db(dbName);
  const { iterations, rounds } = options;
  // Per read, its commands as "command collection" and client CPU per read (user + system, µs).
  const results = [];
  log('measuring the Mongoose reads against driver reads sending the same commands');
  try {
    for (const pair of readPairs(data)) {
      const commands = await assertSameWork(monitored, dbName, pair);
      const sides = {
        mongoose: (i: number) => pair.mongoose(timed, i),
        driver: (i: number) => pair.driver(raw, i),
      };
      for (const run of Object.values(sides)) await cpuPerOperation(run, options.warmup);
      const perRound = await takeTurns(['mongoose', 'driver'] as const, rounds, (side) =>
        cpuPerOperation(sides[side], iterations),
      );
      const [mongooseMicros, driverMicros] = [mean(perRound.mongoose), mean(perRound.driver)];
      log(
        `${pair.name}: Mongoose ${mongooseMicros.toFixed(0)} µs, driver ${driverMicros.toFixed(0)} ` +
          `µs of client CPU per read (${(mongooseMicros / driverMicros).toFixed(2)}x)`,
      );
      const name = pair.name;
      results.push({ name, commands, iterations, rounds, perRound, mongooseMicros, driverMicros });
    }
  } finally {
    await Promise.all([monitored.close(), timed.close()]);
  }
  return results;
}
