import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { tourTheApi } from './api-tour.ts';
import { type Doc, type IndexKey, indexKey, servingIndex } from './query-shape.ts';

// Every query the API sends, recorded from the driver while tourTheApi calls every endpoint, must
// be served by an index. On MongoDB, explain() says so; FerretDB v1's explain names no index
// stages (its SQLite backend scans), so there the index list is checked against each query's
// shape, which runs on every engine.

interface Query {
  collection: string;
  filter: Doc;
  sort: IndexKey;
  /** The command to explain, without session and transaction fields. */
  explain: Doc;
  label: string;
}

// Commands that carry no query to serve.
const NO_QUERY = new Set([
  'insert',
  'getMore',
  'killCursors',
  'createIndexes',
  'listIndexes',
  'listCollections',
  'create',
  'drop',
  'dropDatabase',
  'dropIndexes',
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'endSessions',
  'commitTransaction',
  'abortTransaction',
  'saslStart',
  'saslContinue',
]);

// Mongoose sends a sort as a Map, which keeps the order of its keys.
function sortOf(sort: unknown): IndexKey {
  if (sort instanceof Map) return indexKey(Object.fromEntries(sort));
  return sort && typeof sort === 'object' ? indexKey(sort as Doc) : [];
}

/** The command without its unset fields (the driver would send them as null). */
const defined = (command: Doc): Doc =>
  Object.fromEntries(Object.entries(command).filter(([, v]) => v !== undefined));

/** The queries in one command (an update or delete command carries one per statement). */
function queriesOf(name: string, c: Doc): Query[] {
  const label = `${name} ${String(c[name])}`;
  const collection = String(c[name]);
  const one = (filter: unknown, sort: unknown, explain: Doc): Query => ({
    collection,
    filter: (filter ?? {}) as Doc,
    sort: sortOf(sort),
    explain: defined(explain),
    label: `${label} ${JSON.stringify(filter ?? {})} sort ${JSON.stringify(sortOf(sort))}`,
  });
  switch (name) {
    case 'find': {
      const { find, filter, sort, projection, limit, skip } = c;
      return [one(filter, sort, { find, filter, sort, projection, limit, skip })];
    }
    case 'aggregate': {
      const pipeline = c.pipeline as Doc[];
      const match = pipeline[0]?.$match;
      const sort = pipeline.find((stage) => stage.$sort)?.$sort;
      return [one(match, sort, { aggregate: c.aggregate, pipeline, cursor: {} })];
    }
    case 'count':
      return [one(c.query, undefined, { count: c.count, query: c.query })];
    case 'distinct':
      return [one(c.query, undefined, { distinct: c.distinct, key: c.key, query: c.query })];
    case 'findAndModify': {
      const { findAndModify, query, sort, update, remove, upsert, fields } = c;
      return [one(query, sort, { findAndModify, query, sort, update, remove, upsert, fields })];
    }
    case 'update':
      return (c.updates as Doc[]).map((u) =>
        one(u.q, undefined, { update: c.update, updates: [u] }),
      );
    case 'delete':
      return (c.deletes as Doc[]).map((d) =>
        one(d.q, undefined, { delete: c.delete, deletes: [d] }),
      );
    default:
      throw new Error(`the index test does not know the query shape of "${name}": teach it`);
  }
}

/** Stage names of the winning plan (rejected plans left out), at any depth. */
function winningStages(explain: unknown, into: string[] = []): string[] {
  if (Array.isArray(explain)) for (const item of explain) winningStages(item, into);
  else if (explain && typeof explain === 'object') {
    for (const [key, value] of Object.entries(explain)) {
      if (key === 'rejectedPlans') continue;
      if (key === 'stage' && typeof value === 'string') into.push(value);
      else winningStages(value, into);
    }
  }
  return into;
}

const t = useTestApp('indexes');
const queries: Query[] = [];
const indexes = new Map<string, { name: string; key: IndexKey }[]>();

beforeAll(async () => {
  const client = t.db.connection.getClient();
  const record = (e: { commandName: string; command: Doc; databaseName: string }) => {
    if (e.databaseName !== t.db.connection.name || NO_QUERY.has(e.commandName)) return;
    queries.push(...queriesOf(e.commandName, e.command));
  };
  client.on('commandStarted', record);
  try {
    await tourTheApi(t);
  } finally {
    client.off('commandStarted', record);
  }
  for (const collection of new Set(queries.map((q) => q.collection))) {
    const list = await t.db.connection.db?.collection(collection).listIndexes().toArray();
    indexes.set(
      collection,
      (list ?? []).map((ix) => ({ name: String(ix.name), key: indexKey(ix.key) })),
    );
  }
}, 120_000);

describe('every query of every endpoint is served by an index', () => {
  it('the tour sends the queries of every collection the API reads', () => {
    expect(new Set(queries.map((q) => q.collection))).toEqual(
      new Set(['users', 'presence', 'posts', 'follows', 'tags']),
    );
    expect(queries.length).toBeGreaterThan(50);
  });

  it('each query has an index that starts with its pinned fields and then holds its sort', () => {
    const unserved = queries
      .filter((q) => !servingIndex(indexes.get(q.collection) ?? [], q.filter, q.sort))
      .map((q) => q.label);
    expect(unserved).toEqual([]);
  });

  it('without the tags index, the tag queries are reported (the check can fail)', () => {
    const posts = (indexes.get('posts') ?? []).filter((ix) => !ix.key.some(([f]) => f === 'tags'));
    const unserved = queries
      .filter((q) => q.collection === 'posts' && !servingIndex(posts, q.filter, q.sort))
      .map((q) => q.label);
    expect(unserved.length).toBeGreaterThan(0);
    expect(unserved.every((label) => label.includes('"tags":"tour"'))).toBe(true);
  });

  it('on MongoDB, explain() shows no collection scan and no in-memory sort', async (ctx) => {
    if (t.db.capabilities.engine !== 'mongodb') {
      console.log(
        `skipped the explain() check: ${t.db.capabilities.engine} ${t.db.capabilities.engineVersion} ` +
          'explains without index stages (its SQLite backend scans); the index-list check above ran',
      );
      ctx.skip();
    }
    const admin = t.db.connection.db;
    const problems: string[] = [];
    for (const q of queries) {
      const explain = await admin?.command({ explain: q.explain, verbosity: 'queryPlanner' });
      const stages = winningStages(explain);
      if (stages.includes('COLLSCAN')) problems.push(`${q.label}: COLLSCAN`);
      if (q.sort.length > 0 && stages.includes('SORT')) problems.push(`${q.label}: in-memory SORT`);
    }
    expect(problems).toEqual([]);
  });
});
