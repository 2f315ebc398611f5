import { type Db, ObjectId } from 'mongodb';
import { hashPassword } from '../../src/auth/passwords.ts';

export interface Dataset {
  users: number;
  posts: number;
  follows: number;
  tags: number;
  /** Ids by author rank: index 0 wrote the most posts. */
  userIds: ObjectId[];
  /** The reader whose feed is measured; follows `feedFollowees` of the most prolific authors. */
  feedUserId: ObjectId;
  feedFollowees: number;
  /** Post ids spread over the whole collection, for GET /api/posts/:id. */
  samplePostIds: ObjectId[];
}

export const BASE_USERS = 10_000;
export const BASE_POSTS = 200_000;
const FOLLOWS_PER_USER = 20;
// Below MongoDB's limit of 200 $in values for which it merges index scans instead of sorting.
const FEED_FOLLOWEES = 150;
const TAG_VOCABULARY = 500;
const BATCH = 5000;
export const BENCH_PASSWORD = 'bench password 1';

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

async function insertInBatches<T extends object>(
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
 * Seeds users, posts with tags, follows and tag counters with the raw driver (insertMany in
 * batches). Post authorship is skewed (a few users write most posts) so that one author's
 * listing and the feed have deep pages; timestamps spread over the last year.
 */
export async function seedDataset(
  db: Db,
  scale: number,
  log: (m: string) => void,
): Promise<Dataset> {
  const rand = random(7);
  const users = Math.max(20, Math.round(BASE_USERS * scale));
  const posts = Math.max(200, Math.round(BASE_POSTS * scale));
  const userIds = Array.from({ length: users }, () => new ObjectId());
  // One hash for every user: argon2 is deliberately slow, and every bench user logs in the same.
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const created = new Date(Date.now() - 400 * 86_400_000);
  await insertInBatches(db, 'users', users, (i) => ({
    _id: userIds[i],
    username: `bench_${i}`,
    usernameKey: `bench_${i}`,
    email: `bench_${i}@example.com`,
    passwordHash,
    tokenVersion: 0,
    profile: {},
    createdAt: created,
    updatedAt: created,
  }));
  log(`seeded ${users} users`);

  const tagCounts = new Map<string, number>();
  const start = Date.now() - 365 * 86_400_000;
  const step = (365 * 86_400_000) / posts;
  const samplePostIds: ObjectId[] = [];
  await insertInBatches(db, 'posts', posts, (i) => {
    const _id = new ObjectId();
    if (i % Math.max(1, Math.floor(posts / 1000)) === 0) samplePostIds.push(_id);
    const tags = new Set<string>();
    const tagCount = Math.floor(rand() * 4);
    for (let k = 0; k < tagCount; k += 1)
      tags.add(`tag${Math.floor(rand() ** 2 * TAG_VOCABULARY)}`);
    for (const tag of tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
    return {
      _id,
      body: `bench post ${i}: the quick brown fox jumps over the lazy dog`,
      author: userIds[Math.floor(rand() ** 2 * users)],
      timestamp: new Date(start + Math.floor(i * step)),
      tags: [...tags],
    };
  });
  log(`seeded ${posts} posts`);

  await db.collection('tags').insertMany(
    [...tagCounts].map(([name, postCount]) => ({ name, postCount })),
    { ordered: false },
  );

  const feedUserId = userIds[users - 1] as ObjectId;
  const feedFollowees = Math.min(FEED_FOLLOWEES, users - 1);
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
  log(`seeded ${edgeList.length} follows`);

  return {
    users,
    posts,
    follows: edgeList.length,
    tags: tagCounts.size,
    userIds,
    feedUserId,
    feedFollowees,
    samplePostIds,
  };
}
