import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { runBackup } from '../../src/backups/backup.ts';
import { migrate, useMigratedApp, useMigrationDb } from '../migrations/helpers.ts';
import { findTools, runScript, tempDir } from './helpers.ts';

const tools = findTools();
if ('missing' in tools) console.warn(`skipping the restore under writes: ${tools.missing}`);

/**
 * `npm run restore -- <archive> --drop` into the database a live API serves while clients write
 * (registrations, tagged posts): the restore holds the API's writes (the migration lock's
 * handshake) and swaps the collections in with renames it can undo. One path serves every
 * engine; the test runs on the engine the suite runs (FerretDB here, MONGODB_URI for mongod).
 */
describe.skipIf('missing' in tools)('restore --drop under writes', { timeout: 300_000 }, () => {
  const t = useMigrationDb('restorew', 'describe');
  const api = useMigratedApp(
    t,
    { RATE_LIMIT_MAX: '100000', MAX_IN_FLIGHT_PER_CLIENT: '10000' },
    'describe',
  );
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let token: string;

  const post = (path: string, body: unknown, auth?: string) =>
    fetch(`${api.base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    const password = 'password123';
    expect(
      (await post('/api/users', { username: 'owner', email: 'o@example.com', password })).status,
    ).toBe(201);
    token = (
      (await (await post('/api/tokens', { username: 'owner', password })).json()) as {
        token: string;
      }
    ).token;
    for (const tag of ['alpha', 'beta', 'gamma', 'delta', 'omega']) {
      expect((await post('/api/posts', { body: `about ${tag}`, tags: [tag] }, token)).status).toBe(
        201,
      );
    }
    dir = await tempDir('restore-writes');
  }, 120_000);

  afterAll(async () => {
    await dir?.remove();
  });

  it('exits 0 with the archive in place; every write answers 201 or 503 meanwhile; nothing staged is left and writes work after', async () => {
    const backup = await runBackup({ uri: inject('mongoUri'), dbName: t.name, dir: dir.path });
    let restoreEnded = false;
    const restore = runScript('restore', [backup.archivePath, '--drop'], {
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: t.name,
    }).then((result) => {
      restoreEnded = true;
      return result;
    });
    const statuses: number[] = [];
    let n = 0;
    // Four writers from before the restore starts until after it ended (bounded: 2000 writes).
    const writer = async () => {
      for (let after = 0; n < 2000 && after < 3; ) {
        const i = n++;
        const answer =
          i % 2 === 0
            ? await post('/api/users', {
                username: `writer${i}`,
                email: `writer${i}@example.com`,
                password: 'password123',
              })
            : await post('/api/posts', { body: `during ${i}`, tags: ['alpha', `tag${i}`] }, token);
        statuses.push(answer.status);
        if (restoreEnded) after += 1;
      }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
    const run = await restore;

    expect(run.code, run.stderr).toBe(0);
    expect(statuses.filter((status) => status !== 201 && status !== 503)).toEqual([]);
    expect(statuses).toContain(503);
    const names = (await t.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names.filter((name) => /^(restoring|replaced)_/.test(name))).toEqual([]);
    const tags = (await t.db.collection('tags').find().toArray()).map((doc) => doc.name);
    expect(tags).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma', 'delta', 'omega']));
    const check = await migrate(t, ['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    await vi.waitFor(
      async () => {
        const answer = await post('/api/users', {
          username: 'after',
          email: 'after@example.com',
          password: 'password123',
        });
        expect(answer.status).toBe(201);
      },
      { timeout: 30_000, interval: 250 },
    );
  });
});
