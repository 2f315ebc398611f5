import { describe, expect, it } from 'vitest';
import { readMigrationLock } from '../../src/migrations/lock.ts';
import { migrateUp } from '../../src/migrations/runner.ts';
import type { InstanceDocument } from '../../src/migrations/write-hold.ts';
import {
  ALL_MIGRATIONS,
  changelogNames,
  migrate,
  outputLines,
  quietRun,
  startMigrate,
  useMigratedApp,
  useMigrationDb,
} from './helpers.ts';

const PASSWORD = 'password123';

/**
 * A schema change under a live API, as an operator runs it: the API a real process, `npm run
 * migrate` another. The change waits until the API refuses writes. The API's poll of the schema
 * is set to a minute, so that only the handshake can stop the writes in time, whatever the
 * poll's phase.
 */
describe('a schema change waits until the live API refuses writes', { timeout: 300_000 }, () => {
  const t = useMigrationDb('hold');
  const api = useMigratedApp(t, {
    MIGRATIONS_WATCH_SECONDS: '60',
    // Many registrations from one address; the login limits keep their defaults.
    RATE_LIMIT_MAX: '100000',
    MAX_IN_FLIGHT_PER_CLIENT: '10000',
  });

  const post = (path: string, body: Record<string, string>) =>
    fetch(`${api.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  // Emails are stored in lower case: a pair differs in its email by more than case.
  const register = (username: string, email = `${username}@example.com`) =>
    post('/api/users', { username, email, password: PASSWORD });

  it('`down --steps 2 --no-backup` while same-name, different-case registrations race: no pair gets both in, and `up` succeeds', async () => {
    const down = startMigrate(t, ['down', '--steps', '2', '--no-backup']);
    let downEnded = false;
    void down.done.then(() => {
      downEnded = true;
    });
    const pairs: number[][] = [];
    const until = Date.now() + 120_000;
    let next = 0;
    // Six clients race pairs from before the run changes anything until after it ended
    // (bounded: 600 pairs, 2 minutes).
    const client = async () => {
      for (let after = 0; next < 600 && after < 3 && Date.now() < until; ) {
        const i = next++;
        const answers = await Promise.all([
          register(`racer${i}`),
          register(`RACER${i}`, `upper-racer${i}@example.com`),
        ]);
        pairs.push(answers.map((answer) => answer.status));
        if (downEnded) after += 1;
      }
    };
    await Promise.all(Array.from({ length: 6 }, client));
    const downRun = await down.done;
    const up = await migrate(t, ['up']);

    expect(downRun.code, downRun.stderr).toBe(0);
    for (const statuses of pairs) {
      for (const status of statuses) expect([201, 409, 503]).toContain(status);
    }
    expect(pairs.filter(([a, b]) => a === 201 && b === 201)).toEqual([]);
    expect(pairs.length).toBeGreaterThanOrEqual(10);
    expect(up.code, up.stderr).toBe(0);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
  });

  it('logins during `down --steps 2` answer 200 or 503, never 401 or 429; after `up` they work by username and by email', async () => {
    expect((await register('Dave')).status).toBe(201);
    const login = () => post('/api/tokens', { username: 'Dave', password: PASSWORD });

    const down = startMigrate(t, ['down', '--steps', '2', '--no-backup']);
    let downEnded = false;
    void down.done.then(() => {
      downEnded = true;
    });
    const statuses: number[] = [];
    // During the run and 15 attempts after it (more than the login limit of one account).
    for (let after = 0; statuses.length < 300 && after < 15; ) {
      statuses.push((await login()).status);
      if (downEnded) after += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const downRun = await down.done;
    const up = await migrate(t, ['up']);
    const byUsername = await login();
    const byEmail = await post('/api/tokens', { email: 'dave@example.com', password: PASSWORD });

    expect(downRun.code, downRun.stderr).toBe(0);
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(statuses).toContain(503);
    expect(up.code, up.stderr).toBe(0);
    expect(byUsername.status).toBe(200);
    expect(byEmail.status).toBe(200);
  });
});

describe('the wait for API instances is bounded', { timeout: 120_000 }, () => {
  const t = useMigrationDb('holdwait');
  const instances = () => t.db.collection<InstanceDocument>('migrations_lock');
  const register = (id: string, host: string, pid: number) =>
    instances().insertOne({ _id: `api:${id}`, host, pid, startedAt: new Date(), beat: 0 });

  it('an instance that beats but never acknowledges: `down` fails after MIGRATION_ACK_WAIT_SECONDS with one line naming it, nothing changed', async () => {
    await migrateUp(t.target, quietRun());
    await register('stuck', 'web-9', 4242);
    // It beats (so it is alive) but never confirms, as an API that cannot drain its writes.
    const beating = setInterval(() => {
      void instances().updateOne({ _id: 'api:stuck' }, { $inc: { beat: 1 } });
    }, 200);
    try {
      const run = await migrate(t, ['down', '--no-backup'], { MIGRATION_ACK_WAIT_SECONDS: '2' });

      expect(run.code).toBe(1);
      expect(outputLines(run.stderr)).toEqual([
        expect.stringMatching(
          /^migrate: 1 live API instances did not confirm within 2 s that they refuse writes \(pid 4242 on web-9, up since .*\); nothing was changed \(exit 1\)$/,
        ),
      ]);
      expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
      expect(await readMigrationLock(t.db)).toBeUndefined();
    } finally {
      clearInterval(beating);
    }
  });

  it('an instance that stopped beating is forgotten after 15 s and the run goes on', async () => {
    await migrateUp(t.target, quietRun());
    await register('gone', 'web-8', 4343);

    const started = Date.now();
    const run = await migrate(t, ['down', '--no-backup'], { MIGRATION_ACK_WAIT_SECONDS: '30' });

    expect(run.code, run.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    expect(run.stdout).toMatch(/API instance pid 4343 on web-8, .* stopped beating: forgotten/);
    expect(await instances().countDocuments({ _id: 'api:gone' })).toBe(0);
    expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS.slice(0, -1));
  });
});
