import { describe, expect, it, vi } from 'vitest';
import { migrate, outputLines, useMigratedApp, useMigrationDb } from './helpers.ts';

/**
 * The API as a real process on a fully migrated test database, re-reading the migration state
 * every second; the migration commands run as other processes, as an operator's would.
 */
describe('code and schema agree, or the app does not write', { timeout: 180_000 }, () => {
  const t = useMigrationDb('gate');
  const api = useMigratedApp(t, { MIGRATIONS_WATCH_SECONDS: '1' });

  const register = (username: string) =>
    fetch(`${api.base}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, email: `${username}@example.com`, password: 'password123' }),
    });
  const errorCode = async (response: Response) =>
    ((await response.json()) as { error?: { code?: string } }).error?.code;
  const waitForStatus = (request: () => Promise<Response>, status: number) =>
    vi.waitFor(
      async () => {
        const response = await request();
        expect(response.status).toBe(status);
        return response;
      },
      { timeout: 30_000, interval: 200 },
    );

  it('`down` of the newest migration under the live API: writes answer 503 migrations-pending within seconds, reads work; `up` lets writes in again', async () => {
    expect((await register('Dave')).status).toBe(201);

    const down = await migrate(t, ['down']);
    expect(down.code, down.stderr).toBe(0);
    const refused = await waitForStatus(() => register('DAVE'), 503);
    const read = await fetch(`${api.base}/api/users`);
    const ready = await fetch(`${api.base}/readyz`);

    expect(await errorCode(refused)).toBe('migrations-pending');
    expect(read.status).toBe(200);
    expect(((await read.json()) as { items: unknown[] }).items).toHaveLength(1);
    expect(ready.status).toBe(503);
    expect(await t.db.collection('users').countDocuments()).toBe(1);

    const up = await migrate(t, ['up']);
    expect(up.code, up.stderr).toBe(0);
    const accepted = await waitForStatus(() => register('Erin'), 201);
    expect(accepted.status).toBe(201);
    expect(await errorCode(await register('DAVE'))).toBe('username-taken');
  });

  it('a declared unique index missing (a restore without indexes): /readyz and writes answer 503 indexes-missing, check names it, `indexes` builds it', async () => {
    await t.db.collection('users').dropIndex('usernameKey_1');

    const notReady = await waitForStatus(() => fetch(`${api.base}/readyz`), 503);
    const refused = await waitForStatus(() => register('mallory'), 503);
    const check = await migrate(t, ['check']);
    const dryRun = await migrate(t, ['indexes', '--dry-run']);
    const build = await migrate(t, ['indexes']);
    const checkAfter = await migrate(t, ['check']);

    expect(await errorCode(notReady)).toBe('indexes-missing');
    expect(await errorCode(refused)).toBe('indexes-missing');
    expect(check.code).toBe(1);
    expect(outputLines(check.stdout)[0]).toMatch(
      /^index missing: users: index usernameKey_1 .*unique/,
    );
    expect(outputLines(check.stderr)).toEqual([
      expect.stringMatching(
        /^migrate: 1 declared indexes are missing or different on .*usernameKey_1.*npm run migrate -- indexes` \(exit 1\)$/,
      ),
    ]);
    expect(outputLines(dryRun.stdout)).toEqual([
      expect.stringMatching(/^would build: users: index usernameKey_1/),
    ]);
    expect(build.code, build.stderr).toBe(0);
    expect(outputLines(build.stdout).at(-1)).toBe('every declared index exists');
    expect(checkAfter.code).toBe(0);
    await waitForStatus(() => fetch(`${api.base}/readyz`), 200);
    expect((await register('mallory')).status).toBe(201);
  });

  it('a different index (same name, not unique): check fails naming it, and `indexes` refuses to change it', async () => {
    await t.db.collection('users').dropIndex('email_1');
    await t.db.collection('users').createIndex({ email: 1 }, { name: 'email_1' });

    const check = await migrate(t, ['check']);
    const build = await migrate(t, ['indexes']);

    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      /^index different: users: index email_1 is \{"email":1\} in the database/m,
    );
    expect(build.code).toBe(1);
    expect(outputLines(build.stderr)).toEqual([
      expect.stringMatching(/^migrate: 1 indexes differ from the models \(users\.email_1\)/),
    ]);
  });
});
