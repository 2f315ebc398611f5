import { deepStrictEqual } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { BSON, type Db, type Document, type MongoClient, type ObjectId } from 'mongodb';
import type { Database } from '../../src/db/connection.ts';
import { getFeed } from '../../src/feed/service.ts';
import { connectDatabase } from '../../src/models.ts';
import { findPostPage, findPostView, findUserPostPage } from '../../src/posts/queries.ts';
import { type PostView, postLists } from '../../src/posts/schemas.ts';
import type { Keyset } from '../../src/shared/cursor.ts';
import { keysetPage, keysetQuery, type PageRequest } from '../../src/shared/page.ts';
import type { PostDoc } from './baseline.ts';
import { type CostShare, summarizeProfile } from './profile.ts';
import type { Dataset } from './seed.ts';

/**
 * The ODM's price, measured in this process (`npm run bench -- --only odm`): each read endpoint's
 * query as the app runs it through Mongoose (src/posts/queries.ts, the feed's service) against
 * driver calls that send exactly the same commands and return the same views, in client CPU per
 * operation (process.cpuUsage over many operations, the two sides taking turns in rounds after
 * a warm-up). Before measuring, each pair is run on a monitored connection: the run fails when
 * the commands or the answers differ, since then it would measure other work. Not part of the app.
 */

const POST_FIELDS = { body: 1, timestamp: 1, author: 1, tags: 1 } as const;
const AUTHOR_FIELDS = { username: 1 } as const;
const PAGE: PageRequest = { limit: 20 };

type Author = { _id: ObjectId; username: string };

export interface OdmOptions {
  /** Operations per side in each measured round. */
  iterations: number;
  /** Rounds, the two sides taking turns (Mongoose first in even rounds). */
  rounds: number;
  /** Operations per side before the first round (V8 compiles the hot code meanwhile). */
  warmup: number;
  /** Folder for one CPU profile per read and side, from an extra run after the measured ones. */
  profileDir?: string;
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
  profiles?: { mongoose: CostShare[]; driver: CostShare[] };
}

// --- The driver side: the same commands, the same views --------------------------------------

function postView(post: PostDoc, author: Author | undefined): PostView {
  return {
    id: post._id.toHexString(),
    body: post.body,
    timestamp: post.timestamp.toISOString(),
    tags: post.tags ?? [],
    author: author ? { id: author._id.toHexString(), username: author.username } : null,
  };
}

/** The distinct ids in order of first appearance, as populate collects them. */
function distinctIds(ids: ObjectId[]): ObjectId[] {
  const seen = new Map<string, ObjectId>();
  for (const id of ids) if (!seen.has(id.toHexString())) seen.set(id.toHexString(), id);
  return [...seen.values()];
}

async function usersById<U extends Author>(raw: Db, ids: ObjectId[], fields: Document) {
  const users = (await raw
    .collection('users')
    .find({ _id: { $in: ids } }, { projection: fields })
    .toArray()) as U[];
  return new Map(users.map((u) => [u._id.toHexString(), u]));
}

async function postsOf(raw: Db, filter: Document, sort: Document, limit: number) {
  return (await raw
    .collection('posts')
    .find(filter, { projection: POST_FIELDS })
    .sort(sort)
    .limit(limit)
    .toArray()) as PostDoc[];
}

/** findPostPage's commands: the page (one extra post), then the authors of all it fetched. */
async function driverPostPage(raw: Db, list: Keyset, filter: Document, options: PageRequest) {
  const page = keysetQuery(list, options);
  const posts = await postsOf(raw, { $and: [filter, page.filter] }, page.sort, page.limit);
  const authors =
    posts.length === 0
      ? new Map<string, Author>()
      : await usersById(raw, distinctIds(posts.map((p) => p.author)), AUTHOR_FIELDS);
  return keysetPage(list, posts, options.limit, (p) =>
    postView(p, authors.get(p.author.toHexString())),
  );
}

async function driverPostView(raw: Db, id: ObjectId): Promise<PostView> {
  const post = (await raw
    .collection('posts')
    .findOne({ _id: id }, { projection: POST_FIELDS })) as PostDoc | null;
  if (!post) throw new Error(`post ${id} not found`);
  const authors = await usersById(raw, [post.author], AUTHOR_FIELDS);
  return postView(post, authors.get(post.author.toHexString()));
}

/** findUserPostPage's commands: the user (populate adds its virtual's name to the projection). */
async function driverUserPostPage(raw: Db, id: ObjectId, options: PageRequest) {
  const list = postLists.byAuthor(id.toHexString());
  const page = keysetQuery(list, options);
  const user = (await raw
    .collection('users')
    .findOne({ _id: id }, { projection: { ...AUTHOR_FIELDS, posts: 1 } })) as Author | null;
  if (!user) throw new Error(`user ${id} not found`);
  const posts = await postsOf(
    raw,
    { author: { $in: [user._id] }, ...page.filter },
    page.sort,
    page.limit,
  );
  return keysetPage(list, posts, options.limit, (p) => postView(p, user));
}

/** getFeed's commands: the followees, the page, its authors read with the reader's record. */
async function driverFeed(raw: Db, me: ObjectId, options: PageRequest) {
  const list = postLists.feed(me.toHexString());
  const followees = (await raw
    .collection('follows')
    .distinct('followee', { follower: me })) as ObjectId[];
  const page = keysetQuery(list, options);
  const posts = await postsOf(
    raw,
    { $and: [{ author: { $in: [...followees, me] } }, page.filter] },
    page.sort,
    page.limit,
  );
  const shown = posts.slice(0, options.limit);
  const ids = distinctIds([me, ...shown.map((p) => p.author)]);
  const authors = await usersById(raw, ids, { username: 1, tokenVersion: 1 });
  if (!authors.has(me.toHexString())) throw new Error('the reader is gone');
  return keysetPage(list, posts, options.limit, (p) =>
    postView(p, authors.get(p.author.toHexString())),
  );
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
const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

/** A command as sent, without what differs between any two sends (session, cluster time). */
function normalized(command: Document): string {
  const kept = Object.fromEntries(Object.entries(command).filter(([k]) => !SESSION_FIELDS.has(k)));
  return BSON.EJSON.stringify(kept, { relaxed: false });
}

async function recorded(client: MongoClient, dbName: string, run: () => Promise<unknown>) {
  const commands: Document[] = [];
  const listener = (e: { commandName: string; command: Document; databaseName: string }) => {
    if (e.databaseName === dbName && !HOUSEKEEPING.has(e.commandName)) commands.push(e.command);
  };
  client.on('commandStarted', listener);
  try {
    const result = await run();
    return { result, commands };
  } finally {
    client.off('commandStarted', listener);
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
  const client = monitored.connection.getClient();
  const raw = client.db(dbName);
  let names: string[] = [];
  for (let i = 0; i < inputs; i += 1) {
    const m = await recorded(client, dbName, () => pair.mongoose(monitored, i));
    const d = await recorded(client, dbName, () => pair.driver(raw, i));
    const mongooseCommands = m.commands.map(normalized);
    const driverCommands = d.commands.map(normalized);
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
    names = m.commands.map((c) => {
      const name = Object.keys(c)[0] as string;
      return typeof c[name] === 'string' ? `${name} ${c[name]}` : name;
    });
  }
  if (names.length === 0) throw new Error(`${pair.name}: no command was recorded`);
  return names;
}

// --- Measuring ----------------------------------------------------------------------------------

async function cpuPerOperation(run: (i: number) => Promise<unknown>, n: number, offset = 0) {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i += 1) await run(offset + i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

async function profiled(file: string, run: () => Promise<number>): Promise<number> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const micros = await run();
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  writeFileSync(file, JSON.stringify(profile));
  return micros;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const fileName = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

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
      for (const run of Object.values(sides)) await cpuPerOperation(run, options.warmup);
      const perRound = { mongoose: [] as number[], driver: [] as number[] };
      for (let round = 0; round < options.rounds; round += 1) {
        const order =
          round % 2 === 0 ? (['mongoose', 'driver'] as const) : (['driver', 'mongoose'] as const);
        for (const side of order) {
          perRound[side].push(await cpuPerOperation(sides[side], options.iterations));
        }
      }
      const result: OdmResult = {
        name: pair.name,
        commands,
        iterations: options.iterations,
        rounds: options.rounds,
        mongooseMicros: mean(perRound.mongoose),
        driverMicros: mean(perRound.driver),
        perRound,
      };
      if (options.profileDir) {
        const costs = async (side: 'mongoose' | 'driver') => {
          const file = join(
            options.profileDir as string,
            `odm-${fileName(pair.name)}.${side}.cpuprofile`,
          );
          const micros = await profiled(file, () =>
            cpuPerOperation(sides[side], options.iterations),
          );
          return summarizeProfile(file, micros, 30, { mongooseParts: true });
        };
        result.profiles = { mongoose: await costs('mongoose'), driver: await costs('driver') };
      }
      log(
        `${pair.name}: Mongoose ${result.mongooseMicros.toFixed(0)} µs, driver ` +
          `${result.driverMicros.toFixed(0)} µs of client CPU per read ` +
          `(${(result.mongooseMicros / result.driverMicros).toFixed(2)}x)`,
      );
      results.push(result);
    }
  } finally {
    await Promise.all([monitored.close(), timed.close()]);
  }
  return results;
}
