import { MongoClient } from 'mongodb';
import { describe, expect, it, vi } from 'vitest';
import {
  acquireMigrationLock,
  clearMigrationLock,
  MigrationLockError,
  readMigrationLock,
} from '../../src/migrations/lock.ts';
import { migrateUp } from '../../src/migrations/runner.ts';
import { ALL_MIGRATIONS, changelogNames, quietRun, useMigrationDb } from './helpers.ts';

describe('the migration lock', () => {
  const t = useMigrationDb('lock');

  it('a second run fails at once, naming the holder and the unlock command', async () => {
    const held = await acquireMigrationLock(t.db, { command: 'migrate up', waitMs: 0 });

    const second = acquireMigrationLock(t.db, { command: 'migrate down', waitMs: 0 });

    await expect(second).rejects.toThrow(MigrationLockError);
    await expect(second).rejects.toThrow(
      /held by "migrate up", pid \d+ .*npm run migrate -- unlock/,
    );
    await held.release();
    expect(await readMigrationLock(t.db)).toBeUndefined();
  });

  it('a second run that may wait gets the lock once the first releases it', async () => {
    const held = await acquireMigrationLock(t.db, { command: 'first', waitMs: 0 });
    const lines: string[] = [];

    const second = acquireMigrationLock(t.db, {
      command: 'second',
      waitMs: 10_000,
      pollMs: 50,
      log: (line) => lines.push(line),
    });
    // Release only once the second run is seen waiting (a fixed pause was a guess under load).
    await vi.waitFor(() => expect(lines).toHaveLength(1), { timeout: 10_000, interval: 20 });
    await held.release();

    const lock = await second;
    expect(lines).toEqual([
      expect.stringMatching(/^waiting for the migration lock \(held by "first"/),
    ]);
    expect((await readMigrationLock(t.db))?.holder.command).toBe('second');
    await lock.release();
  });

  it('unlock keeps a lock whose heartbeat is fresh unless forced, and clears a stale one', async () => {
    await acquireMigrationLock(t.db, { command: 'crashed run', waitMs: 0, heartbeatMs: 60_000 });

    await expect(clearMigrationLock(t.db, { force: false })).rejects.toThrow(
      /looks alive.*--force/,
    );
    await t.db
      .collection('migrations_lock')
      .updateOne({}, { $set: { heartbeatAt: new Date(Date.now() - 60_000) } });
    const cleared = await clearMigrationLock(t.db, { force: false });

    expect(cleared?.holder.command).toBe('crashed run');
    expect(await readMigrationLock(t.db)).toBeUndefined();
    expect(await clearMigrationLock(t.db, { force: false })).toBeUndefined();
  });

  it('a run whose lock was cleared under it stops before its next migration', async () => {
    const lock = await acquireMigrationLock(t.db, { command: 'slow', waitMs: 0, heartbeatMs: 20 });
    await clearMigrationLock(t.db, { force: true });

    // The next heartbeat (every 20 ms) finds the lock gone.
    await vi.waitFor(
      () => expect(() => lock.assertHeld()).toThrow(/cleared while this run held it/),
      { timeout: 10_000, interval: 20 },
    );
    await lock.release();
  });

  it('two concurrent up runs on separate connections apply each migration exactly once', async () => {
    const other = await MongoClient.connect(t.uri);
    try {
      const [a, b] = await Promise.all([
        migrateUp(t.target, quietRun({ lockWaitMs: 30_000 })),
        migrateUp({ client: other, db: other.db(t.name) }, quietRun({ lockWaitMs: 30_000 })),
      ]);

      expect([...a, ...b].sort()).toEqual(ALL_MIGRATIONS);
      expect(a.length === 0 || b.length === 0).toBe(true);
      const entries = await t.db.collection('changelog').find().toArray();
      expect(entries).toHaveLength(ALL_MIGRATIONS.length);
      expect(await changelogNames(t.db)).toEqual(ALL_MIGRATIONS);
    } finally {
      await other.close();
    }
  });
});
