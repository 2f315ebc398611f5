import type { Routing, ShardKey } from './routing.ts';

// The shard plan as tables: which collections are split and by what, how each unique index
// survives, and where every command the API sends goes (docs/scaling.md says why).

// collection | shard key (none: unsharded) | key index: create (npm run shard creates it), unique
// (the migrations' unique index; the cluster enforces it) | why
const COLLECTION_TABLE = `
users           |                               |            | three unique keys (username, its lower-case form, email) cannot all start with one shard key, and 10M users fit one shard (sizing table); every read is by _id or a unique key
posts           | {"author":"hashed","_id":1}   | create     | author has one value per user (10M: cardinality to spare) and is in every hot filter (a user's posts, the feed's $in, counts, edits and deletes); hashing spreads authors of every age (a ranged ObjectId would send new users' posts to the last chunk); _id lets a prolific author's posts split across chunks
follows         | {"follower":1,"followee":1}   | unique     | the unique edge index is the shard key, so one edge per pair holds across shards (10M followers × their followees: cardinality to spare); the feed's followee list and /following read by follower. Ranged (a hashed key allows no unique index): a new user's follows go to the top chunk until the balancer splits it
tags            |                               |            | one small document per tag name; the list sorted by postCount reads across all tags, so sharding it would scatter every GET /api/tags
presence        |                               |            | one small document per user (lastSeen), read and written by _id only, at most once a minute per user and process; kept off the user document so that no request's write shares a document with the token version (docs/sql-vs-documents.md). Unsharded like users, whose size it follows
tag_repairs     |                               |            | tags whose counter write failed, waiting for the API's reconciler: usually empty, read and written by _id (the tag's name)
rate_limits     |                               |            | counters of the current window only (RATE_LIMIT_STORE=mongodb), read and written by their window key; small and short-lived
changelog       |                               |            | migration bookkeeping: one document per migration
migrations_lock |                               |            | one lock document while a migration runs
`;

// collection | unique index | how it survives sharding
const UNIQUE_TABLE = `
users   | username           | unsharded: one shard sees every value
users   | usernameKey        | unsharded: one shard sees every value
users   | email              | unsharded: one shard sees every value
posts   | _id                | enforced per shard only (_id is not the shard key prefix); the driver makes ObjectIds unique by construction
follows | follower, followee | it is the shard key: enforced cluster-wide
follows | _id                | per shard only; ObjectIds made by the driver
tags    | name               | unsharded: one shard sees every value
`;

// endpoint | collection | command as the driver sends it | routing | sent on this engine only |
// why it may fan out (required for scatter-gather and multi-shard), and what that costs
const QUERY_TABLE = `
POST /api/users              | users    | insert        | unsharded
POST /api/users              | users    | find          | unsharded      | ferretdb
POST /api/tokens             | users    | find          | unsharded
DELETE /api/tokens           | users    | find          | unsharded
DELETE /api/tokens           | users    | update        | unsharded
GET /api/users               | users    | find          | unsharded
GET /api/users/:id           | users    | find          | unsharded
GET /api/users/:id           | posts    | aggregate     | targeted
GET /api/users/:id           | follows  | aggregate     | targeted
GET /api/users/:id           | follows  | aggregate     | scatter-gather |          | the follower count, for the same reason: every shard counts its part from {followee, createdAt, _id}; a celebrity with 10M followers costs 10M index keys however the cluster is split
PATCH /api/users/:id         | users    | find          | unsharded
PATCH /api/users/:id         | users    | findAndModify | unsharded
DELETE /api/users/:id        | users    | find          | unsharded
DELETE /api/users/:id        | users    | update        | unsharded
DELETE /api/users/:id        | follows  | delete        | scatter-gather |          | account deletion removes the user's edges in both directions: one delete on every shard, once per deleted account
DELETE /api/users/:id        | posts    | find          | targeted
DELETE /api/users/:id        | posts    | delete        | targeted
DELETE /api/users/:id        | tags     | update        | unsharded
DELETE /api/users/:id        | presence | delete        | unsharded
DELETE /api/users/:id        | users    | delete        | unsharded
DELETE /api/users/:id        | tags     | find          | unsharded
GET /api/users/:id/posts     | users    | find          | unsharded
GET /api/users/:id/posts     | posts    | find          | targeted
GET /api/users/:id/profile   | users    | find          | unsharded
GET /api/users/:id/profile   | presence | find          | unsharded
PUT /api/users/:id/profile   | users    | find          | unsharded
PUT /api/users/:id/profile   | users    | findAndModify | unsharded
PUT /api/users/:id/profile   | presence | find          | unsharded
PUT /api/users/:id/follow    | users    | find          | unsharded
PUT /api/users/:id/follow    | follows  | update        | targeted
DELETE /api/users/:id/follow | users    | find          | unsharded
DELETE /api/users/:id/follow | follows  | delete        | targeted
GET /api/users/:id/followers | users    | find          | unsharded
GET /api/users/:id/followers | follows  | find          | scatter-gather |          | an edge is stored under its follower; a user's followers are on every shard. Each shard reads limit+1 keys of {followee, createdAt, _id}; a mirror collection keyed by followee would target it at one more write per follow
GET /api/users/:id/following | users    | find          | unsharded
GET /api/users/:id/following | follows  | find          | targeted
POST /api/posts              | users    | find          | unsharded
POST /api/posts              | presence | update        | unsharded
POST /api/posts              | posts    | insert        | targeted
POST /api/posts              | tags     | update        | unsharded
GET /api/posts               | posts    | find          | scatter-gather |          | the global timeline has no owner: any shard may hold the newest posts. Each shard reads limit+1 keys of {timestamp, _id} and mongos merges S × (limit+1) posts to keep limit+1: grows with the shards, not the data
GET /api/posts               | posts    | find          | targeted
GET /api/posts               | users    | find          | unsharded
GET /api/posts/:id           | posts    | find          | scatter-gather |          | the URL carries the post id only, not the author that would target it. One _id probe on every shard, answered when the slowest shard answers; a post URL carrying the author would target it
GET /api/posts/:id           | users    | find          | unsharded
PATCH /api/posts/:id         | posts    | find          | targeted
PATCH /api/posts/:id         | users    | find          | unsharded
PATCH /api/posts/:id         | presence | update        | unsharded
PATCH /api/posts/:id         | posts    | findAndModify | targeted
PATCH /api/posts/:id         | posts    | find          | scatter-gather |          | error path only: after the targeted write matched nothing, tells "not yours" (403) from "no such post" (404) by _id. One probe per shard
PATCH /api/posts/:id         | tags     | update        | unsharded
PATCH /api/posts/:id         | tags     | find          | unsharded
DELETE /api/posts/:id        | posts    | find          | targeted
DELETE /api/posts/:id        | users    | find          | unsharded
DELETE /api/posts/:id        | posts    | findAndModify | targeted
DELETE /api/posts/:id        | tags     | update        | unsharded
DELETE /api/posts/:id        | tags     | find          | unsharded
GET /api/feed                | follows  | distinct      | targeted
GET /api/feed                | posts    | find          | multi-shard    |          | the feed reads the posts of everyone the reader follows: at most one shard per followed author, and every shard once the reader follows more authors than there are shards
GET /api/feed                | users    | find          | unsharded
GET /api/tags                | tags     | find          | unsharded
GET /api/tags/:name/posts    | posts    | find          | scatter-gather |          | a tag's posts are by every author. Each shard reads limit+1 keys of {tags, timestamp, _id}; mongos merges S × (limit+1)
GET /api/tags/:name/posts    | users    | find          | unsharded
`;

export interface CollectionPlan {
  name: string;
  shardKey?: ShardKey;
  keyIndex?: 'create' | 'unique';
  why: string;
}

export interface QueryPlan {
  endpoint: string;
  collection: string;
  command: string;
  routing: Routing;
  onlyOn?: 'ferretdb' | 'mongodb';
  why?: string;
}

/** A table's lines split into trimmed cells; an empty cell is undefined. */
function rows(table: string): (string | undefined)[][] {
  return table
    .trim()
    .split('\n')
    .map((line) => line.split('|').map((cell) => cell.trim() || undefined));
}

export const COLLECTIONS: CollectionPlan[] = rows(COLLECTION_TABLE).map(
  ([name, key, keyIndex, why]) => ({
    name: name as string,
    shardKey: key ? (JSON.parse(key) as ShardKey) : undefined,
    keyIndex: keyIndex as CollectionPlan['keyIndex'],
    why: why as string,
  }),
);

export const QUERIES: QueryPlan[] = rows(QUERY_TABLE).map(
  ([endpoint, collection, command, routing, onlyOn, why]) =>
    ({ endpoint, collection, command, routing, onlyOn, why }) as QueryPlan,
);

/** The collection's plan, or undefined for a collection the plan does not know. */
export function collectionPlan(name: string): CollectionPlan | undefined {
  return COLLECTIONS.find((c) => c.name === name);
}

/** The key a query table row is found by. */
export function queryKey(q: Pick<QueryPlan, 'endpoint' | 'collection' | 'command' | 'routing'>) {
  return `${q.endpoint} | ${q.collection} | ${q.command} | ${q.routing}`;
}

/** docs/scaling.md's three tables of the plan as Markdown rows (scaling-docs.test.ts). */
export function docRows(): Record<'collections' | 'unique' | 'queries', string[]> {
  const row = (cells: (string | undefined)[]) => `| ${cells.join(' | ')} |`;
  const code = (text: string | undefined) => `\`${text}\``;
  return {
    collections: COLLECTIONS.map((c) =>
      row([code(c.name), c.shardKey ? code(JSON.stringify(c.shardKey)) : 'unsharded', c.why]),
    ),
    unique: rows(UNIQUE_TABLE).map(([name, index, how]) => row([code(name), code(index), how])),
    queries: QUERIES.map((q) => {
      const routing = q.routing + (q.onlyOn ? ` (${q.onlyOn} only)` : '');
      return row([code(q.endpoint), code(q.collection), code(q.command), routing, q.why ?? '']);
    }),
  };
}

export type ShardStep = { database: string; command: Record<string, unknown> };

/**
 * The commands that apply the plan, in order: sharding enabled for the database (needed before
 * MongoDB 6.0, accepted since), the index a shard key needs where the migrations do not create
 * one (shardCollection builds it only on an empty collection), then one shardCollection each.
 */
export function shardSteps(dbName: string): ShardStep[] {
  const steps: ShardStep[] = [{ database: 'admin', command: { enableSharding: dbName } }];
  for (const { name, shardKey: key, keyIndex } of COLLECTIONS.filter((c) => c.shardKey)) {
    // MongoDB's own index name: {author: 'hashed', _id: 1} -> author_hashed__id_1.
    const indexes = [
      {
        key,
        name: Object.entries(key ?? {})
          .flat()
          .join('_'),
      },
    ];
    if (keyIndex === 'create')
      steps.push({ database: dbName, command: { createIndexes: name, indexes } });
    const unique = keyIndex === 'unique' ? { unique: true } : {};
    const shardCollection = `${dbName}.${name}`;
    steps.push({ database: 'admin', command: { shardCollection, key, ...unique } });
  }
  return steps;
}

/** A step as a line mongosh runs as is. */
export function mongoshLine(step: ShardStep): string {
  const command = JSON.stringify(step.command);
  return step.database === 'admin'
    ? `db.adminCommand(${command})`
    : `db.getSiblingDB(${JSON.stringify(step.database)}).runCommand(${command})`;
}
