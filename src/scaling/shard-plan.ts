import type { Routing, ShardKey } from './routing.ts';

/**
 * The shard plan: which collections a sharded cluster splits and by what, and where every
 * command the API sends goes under it. One copy, read by `npm run shard` (the commands that
 * apply it), test/scaling/targeting.test.ts (the plan against the commands the code really
 * sends) and test/scaling/scaling-docs.test.ts (docs/scaling.md's tables against this file).
 */

export interface UniqueConstraint {
  /** The unique index, by its fields. */
  index: string;
  /** Why the cluster still enforces it. */
  how: string;
}

export interface CollectionPlan {
  name: string;
  /** Absent: the collection stays unsharded, on its database's primary shard. */
  shardKey?: ShardKey;
  /** `migrations`: an index the migrations create supports the key; `create`: npm run shard creates it. */
  keyIndex?: 'migrations' | 'create';
  /** The key index is unique (shardCollection's `unique: true`): the cluster enforces it. */
  uniqueKey?: boolean;
  why: string;
  unique: UniqueConstraint[];
}

export interface QueryPlan {
  /** The route, as `METHOD /path/:param`. */
  endpoint: string;
  collection: string;
  /** The command's name as the driver sends it (find, aggregate, update, findAndModify...). */
  command: string;
  routing: Routing;
  /** Required for scatter-gather and multi-shard: why it may fan out, and what that costs. */
  why?: string;
  /** Sent on this engine only (the code takes a path of its own there). */
  onlyOn?: 'ferretdb' | 'mongodb';
}

export const COLLECTIONS: CollectionPlan[] = [
  {
    name: 'users',
    why: 'three unique keys (username, its lower-case form, email) cannot all start with one shard key, and 10M users fit one shard (sizing table); every read is by _id or a unique key',
    unique: [
      { index: 'username', how: 'unsharded: one shard sees every value' },
      { index: 'usernameKey', how: 'unsharded: one shard sees every value' },
      { index: 'email', how: 'unsharded: one shard sees every value' },
    ],
  },
  {
    name: 'posts',
    shardKey: { author: 'hashed', _id: 1 },
    keyIndex: 'create',
    why: "author has one value per user (10M: cardinality to spare) and is in every hot filter (a user's posts, the feed's $in, counts, edits and deletes); hashing spreads authors of every age (a ranged ObjectId would send new users' posts to the last chunk); _id lets a prolific author's posts split across chunks",
    unique: [
      {
        index: '_id',
        how: 'enforced per shard only (_id is not the shard key prefix); the driver makes ObjectIds unique by construction',
      },
    ],
  },
  {
    name: 'follows',
    shardKey: { follower: 1, followee: 1 },
    keyIndex: 'migrations',
    uniqueKey: true,
    why: "the unique edge index is the shard key, so one edge per pair holds across shards (10M followers × their followees: cardinality to spare); the feed's followee list and /following read by follower. Ranged (a hashed key allows no unique index): a new user's follows go to the top chunk until the balancer splits it",
    unique: [
      { index: 'follower, followee', how: 'it is the shard key: enforced cluster-wide' },
      { index: '_id', how: 'per shard only; ObjectIds made by the driver' },
    ],
  },
  {
    name: 'tags',
    why: 'one small document per tag name; the list sorted by postCount reads across all tags, so sharding it would scatter every GET /api/tags',
    unique: [{ index: 'name', how: 'unsharded: one shard sees every value' }],
  },
  {
    name: 'presence',
    why: "one small document per user (lastSeen), read and written by _id only, at most once a minute per user and process; kept off the user document so that no request's write shares a document with the token version (docs/sql-vs-documents.md). Unsharded like users, whose size it follows",
    unique: [],
  },
  {
    name: 'tag_repairs',
    why: "tags whose counter write failed, waiting for the API's reconciler: usually empty, read and written by _id (the tag's name)",
    unique: [],
  },
  {
    name: 'rate_limits',
    why: 'counters of the current window only (RATE_LIMIT_STORE=mongodb), read and written by their window key; small and short-lived',
    unique: [],
  },
  {
    name: 'changelog',
    why: 'migration bookkeeping: one document per migration',
    unique: [],
  },
  {
    name: 'migrations_lock',
    why: 'one lock document while a migration runs',
    unique: [],
  },
];

const FAN_OUT = {
  timeline:
    'the global timeline has no owner: any shard may hold the newest posts. Each shard reads limit+1 keys of {timestamp, _id} and mongos merges S × (limit+1) posts to keep limit+1: grows with the shards, not the data',
  postById:
    'the URL carries the post id only, not the author that would target it. One _id probe on every shard, answered when the slowest shard answers; a post URL carrying the author would target it',
  explainMiss:
    'error path only: after the targeted write matched nothing, tells "not yours" (403) from "no such post" (404) by _id. One probe per shard',
  tagPosts:
    "a tag's posts are by every author. Each shard reads limit+1 keys of {tags, timestamp, _id}; mongos merges S × (limit+1)",
  followers:
    "an edge is stored under its follower; a user's followers are on every shard. Each shard reads limit+1 keys of {followee, createdAt, _id}; a mirror collection keyed by followee would target it at one more write per follow",
  followerCount:
    'the follower count, for the same reason: every shard counts its part from {followee, createdAt, _id}; a celebrity with 10M followers costs 10M index keys however the cluster is split',
  deleteEdges:
    "account deletion removes the user's edges in both directions: one delete on every shard, once per deleted account",
  feed: 'the feed reads the posts of everyone the reader follows: at most one shard per followed author, and every shard once the reader follows more authors than there are shards',
};

/** Every command each endpoint sends, and where it goes under the plan. */
export const QUERIES: QueryPlan[] = [
  { endpoint: 'POST /api/users', collection: 'users', command: 'insert', routing: 'unsharded' },
  {
    // A taken username or email: MongoDB names the index in its duplicate-key error, FerretDB
    // does not, so there the code reads which value is taken (src/db/errors.ts collidingField).
    endpoint: 'POST /api/users',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
    onlyOn: 'ferretdb',
  },
  { endpoint: 'POST /api/tokens', collection: 'users', command: 'find', routing: 'unsharded' },
  { endpoint: 'DELETE /api/tokens', collection: 'users', command: 'find', routing: 'unsharded' },
  { endpoint: 'DELETE /api/tokens', collection: 'users', command: 'update', routing: 'unsharded' },
  { endpoint: 'GET /api/users', collection: 'users', command: 'find', routing: 'unsharded' },
  { endpoint: 'GET /api/users/:id', collection: 'users', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'GET /api/users/:id',
    collection: 'posts',
    command: 'aggregate',
    routing: 'targeted',
  },
  {
    endpoint: 'GET /api/users/:id',
    collection: 'follows',
    command: 'aggregate',
    routing: 'targeted',
  },
  {
    endpoint: 'GET /api/users/:id',
    collection: 'follows',
    command: 'aggregate',
    routing: 'scatter-gather',
    why: FAN_OUT.followerCount,
  },
  { endpoint: 'PATCH /api/users/:id', collection: 'users', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'PATCH /api/users/:id',
    collection: 'users',
    command: 'findAndModify',
    routing: 'unsharded',
  },
  { endpoint: 'DELETE /api/users/:id', collection: 'users', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'DELETE /api/users/:id',
    collection: 'users',
    command: 'update',
    routing: 'unsharded',
  },
  {
    endpoint: 'DELETE /api/users/:id',
    collection: 'follows',
    command: 'delete',
    routing: 'scatter-gather',
    why: FAN_OUT.deleteEdges,
  },
  { endpoint: 'DELETE /api/users/:id', collection: 'posts', command: 'find', routing: 'targeted' },
  {
    endpoint: 'DELETE /api/users/:id',
    collection: 'posts',
    command: 'delete',
    routing: 'targeted',
  },
  {
    endpoint: 'DELETE /api/users/:id',
    collection: 'tags',
    command: 'update',
    routing: 'unsharded',
  },
  {
    endpoint: 'DELETE /api/users/:id',
    collection: 'presence',
    command: 'delete',
    routing: 'unsharded',
  },
  {
    endpoint: 'DELETE /api/users/:id',
    collection: 'users',
    command: 'delete',
    routing: 'unsharded',
  },
  { endpoint: 'DELETE /api/users/:id', collection: 'tags', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'GET /api/users/:id/posts',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'GET /api/users/:id/posts',
    collection: 'posts',
    command: 'find',
    routing: 'targeted',
  },
  {
    endpoint: 'GET /api/users/:id/profile',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'GET /api/users/:id/profile',
    collection: 'presence',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'PUT /api/users/:id/profile',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'PUT /api/users/:id/profile',
    collection: 'users',
    command: 'findAndModify',
    routing: 'unsharded',
  },
  {
    endpoint: 'PUT /api/users/:id/profile',
    collection: 'presence',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'PUT /api/users/:id/follow',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'PUT /api/users/:id/follow',
    collection: 'follows',
    command: 'update',
    routing: 'targeted',
  },
  {
    endpoint: 'DELETE /api/users/:id/follow',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'DELETE /api/users/:id/follow',
    collection: 'follows',
    command: 'delete',
    routing: 'targeted',
  },
  {
    endpoint: 'GET /api/users/:id/followers',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'GET /api/users/:id/followers',
    collection: 'follows',
    command: 'find',
    routing: 'scatter-gather',
    why: FAN_OUT.followers,
  },
  {
    endpoint: 'GET /api/users/:id/following',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'GET /api/users/:id/following',
    collection: 'follows',
    command: 'find',
    routing: 'targeted',
  },
  { endpoint: 'POST /api/posts', collection: 'users', command: 'find', routing: 'unsharded' },
  { endpoint: 'POST /api/posts', collection: 'presence', command: 'update', routing: 'unsharded' },
  { endpoint: 'POST /api/posts', collection: 'posts', command: 'insert', routing: 'targeted' },
  { endpoint: 'POST /api/posts', collection: 'tags', command: 'update', routing: 'unsharded' },
  {
    endpoint: 'GET /api/posts',
    collection: 'posts',
    command: 'find',
    routing: 'scatter-gather',
    why: FAN_OUT.timeline,
  },
  { endpoint: 'GET /api/posts', collection: 'posts', command: 'find', routing: 'targeted' },
  { endpoint: 'GET /api/posts', collection: 'users', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'GET /api/posts/:id',
    collection: 'posts',
    command: 'find',
    routing: 'scatter-gather',
    why: FAN_OUT.postById,
  },
  { endpoint: 'GET /api/posts/:id', collection: 'users', command: 'find', routing: 'unsharded' },
  { endpoint: 'PATCH /api/posts/:id', collection: 'posts', command: 'find', routing: 'targeted' },
  { endpoint: 'PATCH /api/posts/:id', collection: 'users', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'PATCH /api/posts/:id',
    collection: 'presence',
    command: 'update',
    routing: 'unsharded',
  },
  {
    endpoint: 'PATCH /api/posts/:id',
    collection: 'posts',
    command: 'findAndModify',
    routing: 'targeted',
  },
  {
    endpoint: 'PATCH /api/posts/:id',
    collection: 'posts',
    command: 'find',
    routing: 'scatter-gather',
    why: FAN_OUT.explainMiss,
  },
  { endpoint: 'PATCH /api/posts/:id', collection: 'tags', command: 'update', routing: 'unsharded' },
  { endpoint: 'PATCH /api/posts/:id', collection: 'tags', command: 'find', routing: 'unsharded' },
  { endpoint: 'DELETE /api/posts/:id', collection: 'posts', command: 'find', routing: 'targeted' },
  {
    endpoint: 'DELETE /api/posts/:id',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
  {
    endpoint: 'DELETE /api/posts/:id',
    collection: 'posts',
    command: 'findAndModify',
    routing: 'targeted',
  },
  {
    endpoint: 'DELETE /api/posts/:id',
    collection: 'tags',
    command: 'update',
    routing: 'unsharded',
  },
  { endpoint: 'DELETE /api/posts/:id', collection: 'tags', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'GET /api/feed',
    collection: 'follows',
    command: 'distinct',
    routing: 'targeted',
  },
  {
    endpoint: 'GET /api/feed',
    collection: 'posts',
    command: 'find',
    routing: 'multi-shard',
    why: FAN_OUT.feed,
  },
  { endpoint: 'GET /api/feed', collection: 'users', command: 'find', routing: 'unsharded' },
  { endpoint: 'GET /api/tags', collection: 'tags', command: 'find', routing: 'unsharded' },
  {
    endpoint: 'GET /api/tags/:name/posts',
    collection: 'posts',
    command: 'find',
    routing: 'scatter-gather',
    why: FAN_OUT.tagPosts,
  },
  {
    endpoint: 'GET /api/tags/:name/posts',
    collection: 'users',
    command: 'find',
    routing: 'unsharded',
  },
];

/** The collection's plan, or undefined for a collection the plan does not know. */
export function collectionPlan(name: string): CollectionPlan | undefined {
  return COLLECTIONS.find((c) => c.name === name);
}

/** The key a query table row is found by. */
export function queryKey(q: Pick<QueryPlan, 'endpoint' | 'collection' | 'command' | 'routing'>) {
  return `${q.endpoint} | ${q.collection} | ${q.command} | ${q.routing}`;
}
