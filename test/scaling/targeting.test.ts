import { beforeAll, describe, expect, it } from 'vitest';
import { routeStatement, statementsOf } from '../../src/scaling/routing.ts';
import {
  COLLECTIONS,
  collectionPlan,
  QUERIES,
  type QueryPlan,
  queryKey,
} from '../../src/scaling/shard-plan.ts';
import { tourTheApi } from '../bench/api-tour.ts';
import { useTestApp } from '../helpers/app.ts';
import { type EndpointCommand, recordCommandsByEndpoint } from './endpoint-commands.ts';

// The shard plan checked against the code: every command each endpoint sends (recorded from the
// driver while tourTheApi calls every endpoint, error paths included) is routed the way mongos
// would route it under src/scaling/shard-plan.ts, and must be in the plan's QUERY_TABLE with that
// routing. A new query that would fan out to every shard fails here until the plan says why.

const PLAN_FILE = 'src/scaling/shard-plan.ts';

interface Seen extends Omit<QueryPlan, 'why'> {
  example: string;
  problem?: string;
}

/** The commands, routed under `plan`, one per endpoint/collection/command/routing. */
function route(recorded: EndpointCommand[], plan = COLLECTIONS): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  for (const { endpoint, name, command } of recorded) {
    for (const statement of statementsOf(name, command)) {
      const known = plan.find((c) => c.name === statement.collection);
      const routed = known
        ? routeStatement(statement, known.shardKey)
        : { routing: 'unsharded' as const, problem: 'unknown collection' };
      const row: Seen = {
        endpoint,
        collection: statement.collection,
        command: statement.command,
        routing: routed.routing,
        example: JSON.stringify(statement.filter ?? Object.keys(statement.document ?? {})),
        problem: routed.problem,
      };
      if (!seen.has(queryKey(row))) seen.set(queryKey(row), row);
    }
  }
  return seen;
}

/** What the next engineer must change, in words and as the line to paste. */
function advice(row: Seen, plan = COLLECTIONS): string {
  const entry = queryKey(row);
  if (row.routing === 'scatter-gather' || row.routing === 'multi-shard') {
    const key = JSON.stringify(plan.find((c) => c.name === row.collection)?.shardKey);
    return (
      `${row.endpoint} sends ${row.command} on ${row.collection} with ${row.example}, which does not pin the shard key ${key} ` +
      `to one value: on a sharded cluster it goes to ${row.routing === 'multi-shard' ? 'one shard per value' : 'every shard'}. ` +
      `Put the shard key's first field in the filter, or add to QUERY_TABLE in ${PLAN_FILE}: ${entry} |  | <why it may fan out, and what that costs as shards are added>`
    );
  }
  return `${row.endpoint} sends ${row.command} on ${row.collection} (${row.routing}; ${row.example}): add to QUERY_TABLE in ${PLAN_FILE}: ${entry}`;
}

const t = useTestApp('targeting');
let recorded: EndpointCommand[];
beforeAll(async () => {
  recorded = await recordCommandsByEndpoint(t, (api) => tourTheApi({ ...t, api }));
}, 120_000);

describe('the shard plan against the commands the API sends', () => {
  it('every command was sent by a request of the tour, on a collection the plan knows', () => {
    expect(recorded.length).toBeGreaterThan(100);
    expect(recorded.filter((c) => c.endpoint === '(no request)').map((c) => c.name)).toEqual([]);
    const unknown = [...new Set(recorded.flatMap((c) => statementsOf(c.name, c.command)))]
      .map((s) => s.collection)
      .filter((name) => !collectionPlan(name));
    expect(
      [...new Set(unknown)].map(
        (name) =>
          `collection ${name} is not in COLLECTION_TABLE of ${PLAN_FILE}: add ${name} |  |  | <why unsharded>, or a shard key and why`,
      ),
    ).toEqual([]);
  });

  it('no command breaks a rule of sharded collections (an upsert without the whole key, an insert without it)', () => {
    const problems = [...route(recorded).values()]
      .filter((row) => row.problem)
      .map((row) => `${row.endpoint} ${row.command} on ${row.collection}: ${row.problem}`);
    expect(problems).toEqual([]);
  });

  it('every command is in the plan with the routing it really has', () => {
    const planned = new Set(QUERIES.map(queryKey));
    const missing = [...route(recorded).values()]
      .filter((row) => !planned.has(queryKey(row)))
      .map((row) => advice(row));
    expect(missing).toEqual([]);
  });

  it('every query the plan lists is still sent (no stale row, no stale reason)', () => {
    const seen = route(recorded);
    const engine = t.db.capabilities.engine;
    const stale = QUERIES.filter(
      (q) => !seen.has(queryKey(q)) && (q.onlyOn ?? engine) === engine,
    ).map(
      (q) =>
        `${queryKey(q)}: no longer sent by the tour (test/bench/api-tour.ts); remove it from QUERY_TABLE in ${PLAN_FILE}`,
    );
    expect(stale).toEqual([]);
  });

  it('every fanning-out query says why, and only those do', () => {
    const unexplained = QUERIES.filter(
      (q) => (q.routing === 'scatter-gather' || q.routing === 'multi-shard') !== Boolean(q.why),
    ).map(queryKey);
    expect(unexplained).toEqual([]);
  });

  it('a query that fans out and is not listed fails with the line to add (the check can fail)', () => {
    // The same commands under a plan that shards users by email: every read of a user by _id
    // now goes to every shard, and nothing in QUERIES says so.
    const usersByEmail = COLLECTIONS.map((c) =>
      c.name === 'users' ? { ...c, shardKey: { email: 1 as const } } : c,
    );
    const planned = new Set(QUERIES.map(queryKey));
    const missing = [...route(recorded, usersByEmail).values()]
      .filter((row) => !planned.has(queryKey(row)))
      .map((row) => advice(row, usersByEmail));
    expect(missing.length).toBeGreaterThan(5);
    const byId = missing.find((m) =>
      m.startsWith('GET /api/users/:id/profile sends find on users'),
    );
    expect(byId).toMatch(
      /^GET \/api\/users\/:id\/profile sends find on users with \{"_id":"[0-9a-f]{24}"\}, which does not pin the shard key \{"email":1\} to one value: on a sharded cluster it goes to every shard\. Put the shard key's first field in the filter, or add to QUERY_TABLE in src\/scaling\/shard-plan\.ts: GET \/api\/users\/:id\/profile \| users \| find \| scatter-gather \| {2}\| <why it may fan out, and what that costs as shards are added>$/,
    );
  });
});
