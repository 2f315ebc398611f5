import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareAnswers,
  measure,
  prepareSides,
  type Sides,
} from '../../scripts/compare/comparison.ts';
import {
  NO_POSTGRES,
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from '../../scripts/compare/postgres-server.ts';
import type { Database } from '../../src/db/connection.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';

const installed = postgresBinaries() !== null;
if (!installed) console.log(`test/compare skipped: ${NO_POSTGRES}`);

// The bench's smallest dataset: 20 users, 200 posts (scale 0.001 is below its floors).
const SCALE = 0.001;

describe.skipIf(!installed)('npm run compare:sql, at the smallest scale', () => {
  let server: PostgresServer;
  let client: pg.Client;
  let db: Database;
  let sides: Sides;

  beforeAll(async () => {
    server = await startPostgres(() => {});
    client = await server.connect();
    db = await openTestDatabase('compare', { monitorCommands: true });
    sides = await prepareSides(db, client, SCALE, () => {});
  });

  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (db) await dropTestDatabase(db);
  });

  it('every read, three pages deep, and every write answer the same both ways', async () => {
    const mismatches = await compareAnswers(sides);

    expect(mismatches).toEqual([]);
  });

  it('measures every operation both ways, and its examined SQL writes leave nothing behind', async () => {
    const count = async () => (await client.query('SELECT count(*)::int AS n FROM post')).rows[0].n;
    const before = await count();

    const results = await measure(sides, client, 2);

    expect(results.map((r) => r.name)).toContain('feed (followed_posts)');
    for (const r of results) {
      expect(r.sql.roundTrips, r.name).toBeGreaterThan(0);
      expect(r.doc.roundTrips, r.name).toBeGreaterThan(0);
      expect(r.sql.examined, r.name).toBeGreaterThanOrEqual(0);
    }
    // Two timed runs of the post write, none from the examined run (rolled back).
    expect(await count()).toBe(before + 2);
  });
});
