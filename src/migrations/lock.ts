import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from 'mongodb';
import { ScriptError } from '../process/script-error.ts';
import { LOCK_COLLECTION } from './settings.ts';

// One document with a fixed _id: inserting it is atomic on every server (the _id index is unique
// everywhere, FerretDB included), so of two runs exactly one gets the lock. No TTL index: a crashed
// run's lock stays until `npm run migrate -- unlock` clears it, which is safer than expiring it
// under a run that is merely slow.
const LOCK_ID = 'migrate';

export interface LockHolder {
  host: string;
  pid: number;
  command: string;
}

interface LockDocument {
  _id: string;
  token: string;
  holder: LockHolder;
  acquiredAt: Date;
  heartbeatAt: Date;
}

/** Another run holds the migration lock, or this run lost it. */
export class MigrationLockError extends ScriptError {
  constructor(message: string) {
    super('migration-lock-held', message);
    this.name = 'MigrationLockError';
  }
}

export interface MigrationLock {
  /** Throws when the lock was cleared under this run (someone ran unlock --force). */
  assertHeld(): void;
  release(): Promise<void>;
}

export interface AcquireOptions {
  command: string;
  /** How long to wait for another run to finish; 0 fails at once. */
  waitMs: number;
  pollMs?: number;
  heartbeatMs?: number;
  log?: (line: string) => void;
}

const DUPLICATE_KEY = 11000;

/** Takes the migration lock, waiting up to waitMs for a running migration to finish. */
export async function acquireMigrationLock(
  db: Db,
  options: AcquireOptions,
): Promise<MigrationLock> {
  const locks = db.collection<LockDocument>(LOCK_COLLECTION);
  const token = randomUUID();
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    const now = new Date();
    try {
      await locks.insertOne({
        _id: LOCK_ID,
        token,
        holder: { host: hostname(), pid: process.pid, command: options.command },
        acquiredAt: now,
        heartbeatAt: now,
      });
      return heldLock(db, token, options.heartbeatMs ?? 5000);
    } catch (error) {
      if ((error as { code?: number }).code !== DUPLICATE_KEY) throw error;
    }
    const current = await locks.findOne({ _id: LOCK_ID });
    if (!current) continue; // released between our insert and our read
    if (Date.now() >= deadline) {
      throw new MigrationLockError(
        `another migration run holds the lock (${describeLock(current)}); wait for it to finish, ` +
          'or if it crashed clear the lock with `npm run migrate -- unlock`',
      );
    }
    if (!announced) {
      options.log?.(`waiting for the migration lock (${describeLock(current)})`);
      announced = true;
    }
    await sleep(Math.min(options.pollMs ?? 250, Math.max(0, deadline - Date.now())));
  }
}

function heldLock(db: Db, token: string, heartbeatMs: number): MigrationLock {
  const locks = db.collection<LockDocument>(LOCK_COLLECTION);
  let lost: string | undefined;
  let failures = 0;
  // The heartbeat tells `unlock` whether the holder is alive. A run that cannot refresh it three
  // times in a row may be taken for dead, so it stops before its next migration.
  const timer = setInterval(() => {
    locks
      .updateOne({ _id: LOCK_ID, token }, { $set: { heartbeatAt: new Date() } })
      .then((result) => {
        failures = 0;
        if (result.matchedCount === 0)
          lost = 'the migration lock was cleared while this run held it';
      })
      .catch((error: Error) => {
        failures += 1;
        if (failures >= 3) lost = `the migration lock could not be refreshed: ${error.message}`;
      });
  }, heartbeatMs);
  timer.unref();
  return {
    assertHeld() {
      if (lost) throw new MigrationLockError(`${lost}; stopping before the next migration`);
    },
    async release() {
      clearInterval(timer);
      await locks.deleteOne({ _id: LOCK_ID, token });
    },
  };
}

export interface LockState {
  holder: LockHolder;
  acquiredAt: Date;
  heartbeatAt: Date;
}

export async function readMigrationLock(db: Db): Promise<LockState | undefined> {
  const doc = await db.collection<LockDocument>(LOCK_COLLECTION).findOne({ _id: LOCK_ID });
  return doc
    ? { holder: doc.holder, acquiredAt: doc.acquiredAt, heartbeatAt: doc.heartbeatAt }
    : undefined;
}

/**
 * Clears a lock left by a crashed run. A lock whose heartbeat is recent belongs to a live run and
 * is kept unless force is set. Returns the cleared lock, or undefined when none was held.
 */
export async function clearMigrationLock(
  db: Db,
  options: { force: boolean; staleAfterMs?: number },
): Promise<LockState | undefined> {
  const locks = db.collection<LockDocument>(LOCK_COLLECTION);
  const current = await locks.findOne({ _id: LOCK_ID });
  if (!current) return undefined;
  const ageMs = Date.now() - current.heartbeatAt.getTime();
  if (!options.force && ageMs < (options.staleAfterMs ?? 30_000)) {
    throw new MigrationLockError(
      `the lock looks alive (${describeLock(current)}); ` +
        'if that run is really gone, clear it with `npm run migrate -- unlock --force`',
    );
  }
  await locks.deleteOne({ _id: LOCK_ID, token: current.token });
  return {
    holder: current.holder,
    acquiredAt: current.acquiredAt,
    heartbeatAt: current.heartbeatAt,
  };
}

export function describeLock(lock: LockState): string {
  const age = Math.round((Date.now() - lock.heartbeatAt.getTime()) / 1000);
  return (
    `held by "${lock.holder.command}", pid ${lock.holder.pid} on ${lock.holder.host}, ` +
    `since ${lock.acquiredAt.toISOString()}, last heartbeat ${age}s ago`
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
