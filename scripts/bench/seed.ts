import { type Db, ObjectId } from 'mongodb';
import type { ConnectOptions } from '../../src/db/connection.ts';
import { startEmbeddedEngine } from '../../src/db/embedded-engine.ts';
import { connectDatabase } from '../../src/models.ts';
import { usernameKey } from '../../src/users/model.ts';
import { hashPassword } from '../../src/users/password.ts';

export type Dataset = Awaited<ReturnType<typeof seedDataset>>;

export const BASE_USERS = 10_000;
export const BASE_POSTS = 200_000;
const FOLLOWS_PER_USER = 20;
// Below MongoDB's limit of 200 $in values for which it merges index scans instead of sorting.
const FEED_FOLLOWEES = 150;
const BATCH = 5000;
const DAY = 86_400_000;
export const BENCH_PASSWORD = 'bench password 1';

/** What the documents say (npm run seed's reads like people); the shapes are the generator's. */
export interface SeedContent {
  /** The PRNG's seed: one seed, one dataset. */
  seed: number;
  /** Posts are spread over the last spanDays; the users were created 35 days before. */
  spanDays: number;
  /** Tag ranks 0..tagVocabulary-1 (the low ranks most used), named by tagName. */
  tagVocabulary: number;
  tagName(rank: number): string;
  password: string;
  user(i: number, rand: () => number): { username: string; email: string; aboutMe?: string };
  body(i: number, rand: () => number): string;
}

export const BENCH_CONTENT: SeedContent = {
  seed: 7,
  spanDays: 365,
  tagVocabulary: 500,
  tagName: (rank) => `tag${rank}`,
  password: BENCH_PASSWORD,
  user: (i) => ({ username: `bench_${i}`, email: `bench_${i}@example.com` }),
  body: (i) => `bench post ${i}: the quick brown fox jumps over the lazy dog`,
};

/** A small deterministic PRNG (mulberry32), so two runs at one scale seed the same shapes. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function insertInBatches<T extends object>(
  db: Db,
  collection: string,
  count: number,
  make: (i: number) => T,
): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const docs = Array.from({ length: Math.min(BATCH, count - start) }, (_, j) => make(start + j));
    await db.collection(collection).insertMany(docs, { ordered: false });
  }
}

/**
 * Users, posts with tags, follows and tag counters with the raw driver (docs/benchmarks.md).
 * Authorship is skewed so that one author's listing and the feed have deep pages; the documents
 * must pass the models' validation (test/seed.test.ts checks the sample content's).
 */
export async function seedDataset(
  db: Db,
  scale: number,
  log: (m: string) => void,
  content: SeedContent = BENCH_CONTENT,
) {
  const users = Math.max(20, Math.round(BASE_USERS * scale));
  const posts = Math.max(200, Math.round(BASE_POSTS * scale));
  const userIds = Array.from({ length: users }, () => new ObjectId());
  const start = Date.now() - content.spanDays * DAY;
  const generation = { db, userIds, content, rand: random(content.seed), start };
  await seedUsers(generation);
  log(`seeded ${users} users`);
  const { tags, samplePostIds } = await seedPosts(generation, posts);
  log(`seeded ${posts} posts`);
  const feedFollowees = Math.min(FEED_FOLLOWEES, users - 1);
  const follows = await seedFollows(generation, feedFollowees);
  log(`seeded ${follows} follows`);
  // userIds by author rank (index 0 wrote the most posts); the feed's reader follows the first
  // feedFollowees; samplePostIds spread over the whole collection, for GET /api/posts/:id.
  const feedUserId = userIds[users - 1] as ObjectId;
  return { users, posts, follows, tags, userIds, feedUserId, feedFollowees, samplePostIds };
}

/** What the parts of one dataset share; the posts are spread from `start` over content.spanDays. */
interface Generation {
  db: Db;
  userIds: ObjectId[];
  content: SeedContent;
  rand: () => number;
  start: number;
}

async function seedUsers({ db, userIds, content, rand, start }: Generation) {
  const created = new Date(start - 35 * DAY);
  // One hash for every user: argon2 is deliberately slow, and every seeded user logs in the same.
  const passwordHash = await hashPassword(content.password);
  await insertInBatches(db, 'users', userIds.length, (i) => {
    const { username, email, aboutMe } = content.user(i, rand);
    return {
      _id: userIds[i],
      username,
      usernameKey: usernameKey(username),
      email,
      passwordHash,
      tokenVersion: 0,
      profile: aboutMe === undefined ? {} : { aboutMe },
      createdAt: created,
      updatedAt: created,
    };
  });
}

/** The posts, then one tag document per tag used, counting the posts that carry it. */
async function seedPosts({ db, userIds, content, rand, start }: Generation, posts: number) {
  const tagCounts = new Map<string, number>();
  const step = (content.spanDays * DAY) / posts;
  const samplePostIds: ObjectId[] = [];
  await insertInBatches(db, 'posts', posts, (i) => {
    const _id = new ObjectId();
    if (i % Math.max(1, Math.floor(posts / 1000)) === 0) samplePostIds.push(_id);
    const tags = new Set<string>();
    const tagCount = Math.floor(rand() * 4);
    for (let k = 0; k < tagCount; k += 1)
      tags.add(content.tagName(Math.floor(rand() ** 2 * content.tagVocabulary)));
    for (const tag of tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
    const author = userIds[Math.floor(rand() ** 2 * userIds.length)];
    return {
      _id,
      body: content.body(i, rand),
      author,
      timestamp: new Date(start + Math.floor(i * step)),
      tags: [...tags],
    };
  });
  const tagDocs = [...tagCounts].map(([name, postCount]) => ({ name, postCount }));
  await db.collection('tags').insertMany(tagDocs, { ordered: false });
  return { tags: tagCounts.size, samplePostIds };
}

/** The last user follows the first feedFollowees; every other follows up to 20 at random. */
async function seedFollows({ db, userIds, rand, start }: Generation, feedFollowees: number) {
  const users = userIds.length;
  const edges = new Map<string, { follower: ObjectId; followee: ObjectId }>();
  const addEdge = (a: number, b: number) => {
    if (a === b) return;
    edges.set(`${a}:${b}`, { follower: userIds[a] as ObjectId, followee: userIds[b] as ObjectId });
  };
  for (let f = 0; f < feedFollowees; f += 1) addEdge(users - 1, f);
  for (let a = 0; a < users - 1; a += 1) {
    for (let k = 0; k < FOLLOWS_PER_USER; k += 1) addEdge(a, Math.floor(rand() * users));
  }
  const edgeList = [...edges.values()];
  await insertInBatches(db, 'follows', edgeList.length, (i) => ({
    ...edgeList[i],
    createdAt: new Date(start + i * 1000),
  }));
  return edgeList.length;
}

/** A new user's token, registered and logged in through the API at `url`. */
export async function newUserToken(url: string, username: string): Promise<string> {
  const post = (path: string, body: object) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: BENCH_PASSWORD, ...body }),
    });
  const registered = await post('/api/users', { email: `${username}@example.com` });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  return ((await (await post('/api/tokens', {})).json()) as { token: string }).token;
}

type ScratchOptions = Pick<ConnectOptions, 'poolSize' | 'monitorCommands'> & {
  keep?: boolean;
  log?: (m: string) => void;
};

/**
 * The bench commands' database: a fresh `<prefix>_<time>` on MONGODB_URI, or else on the
 * embedded engine (EMBEDDED_ENGINE) started for it; closed, dropped (unless `keep`) and the
 * engine stopped through `onCleanup` (run newest first).
 */
export async function openScratchDatabase(
  prefix: string,
  onCleanup: (undo: () => Promise<void>) => void,
  options: ScratchOptions,
) {
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    const kind = (process.env.EMBEDDED_ENGINE ?? 'auto') as 'auto' | 'mongod' | 'ferretdb';
    const engine = await startEmbeddedEngine({ engine: kind, log: options.log });
    onCleanup(() => engine.stop());
    uri = engine.uri;
  }
  const dbName = `${prefix}_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
  const { poolSize, monitorCommands } = options;
  const db = await connectDatabase(uri, { dbName, autoIndex: true, poolSize, monitorCommands });
  onCleanup(() => db.close());
  if (!options.keep) onCleanup(() => db.connection.dropDatabase());
  return { uri, dbName, db, raw: db.connection.getClient().db(dbName) };
}
