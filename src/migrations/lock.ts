import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { MIGRATION_LOCK_COLLECTION as LOCK_COLLECTION } from '../db/bookkeeping-collections.ts';
import { processAlive, processStartTime } from '../process/pid.ts';
import { ScriptError } from '../process/script-error.ts';

export { LOCK_COLLECTION };

// Ours because migrate-mongo's lock checks, then inserts (two runs pass it together) and needs a
// TTL index. One document with a fixed _id: inserting it is atomic on every server (FerretDB
// included), so of two runs exactly one gets the lock. No TTL: a slow run keeps it. A holder that
// is a dead process on this host is taken over at once; one on another host waits for unlock.
const LOCK_ID = 'migrate';

export interface LockHolder {
  host: string;
  pid: number;
  /** The holder's start time (Linux), so that a reused pid is not taken for the holder. */
  startTime?: string;
  command: string;
}

export interface LockState {
  _id: string;
  /** The token of the run, which API instances acknowledge when it holds writes. */
  token: string;
  holder: LockHolder;
  /** Announced by a run that changes the schema: live APIs refuse writes until it matches again. */
  holdWrites?: boolean;
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
  /** Announced to the live APIs by holdWrites (write-hold.ts). */
  token: string;
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

const locksOf = (db: Db) => db.collection<LockState>(LOCK_COLLECTION);

/** Takes the migration lock, waiting up to waitMs for a running migration to finish. */
export async function acquireMigrationLock(
  db: Db,
  options: AcquireOptions,
): Promise<MigrationLock> {
  const locks = locksOf(db);
  const token = randomUUID();
  const deadline = Date.now() + options.waitMs;
  const pid = process.pid;
  const holder = {
    host: hostname(),
    pid,
    startTime: processStartTime(pid),
    command: options.command,
  };
  for (let announced = false; ; ) {
    const now = new Date();
    try {
      await locks.insertOne({ _id: LOCK_ID, token, holder, acquiredAt: now, heartbeatAt: now });
      return heldLock(db, token, options.heartbeatMs ?? 5000);
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error; // duplicate key: held
    }
    const current = await locks.findOne({ _id: LOCK_ID });
    if (!current) continue; // released between our insert and our read
    if (holderIsDead(current.holder)) {
      // Deleted by its token: of two runs taking it over, one deletes it and both race to insert.
      const { deletedCount } = await locks.deleteOne({ _id: LOCK_ID, token: current.token });
      if (deletedCount === 1) {
        options.log?.(
          `took over the migration lock of a process that is gone (${describeLock(current)})`,
        );
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new MigrationLockError(
        `another migration run holds the lock (${describeLock(current)}); wait for it to finish, ` +
          'or if it crashed clear the lock with `npm run migrate -- unlock`',
      );
    }
    if (!announced) options.log?.(`waiting for the migration lock (${describeLock(current)})`);
    announced = true;
    await sleep(Math.min(options.pollMs ?? 250, Math.max(0, deadline - Date.now())));
  }
}

/** Releases of the locks this process holds: the script runner calls them on every way out. */
const held = new Set<() => Promise<void>>();

/** Releases every lock this process holds (after an uncaught error, a broken pipe, a signal). */
export async function releaseHeldLocks(): Promise<void> {
  await Promise.allSettled([...held].map((release) => release()));
}

function heldLock(db: Db, token: string, heartbeatMs: number): MigrationLock {
  const locks = locksOf(db);
  let lost: string | undefined;
  let failures = 0;
  // The heartbeat tells `unlock` the holder is alive. A run that cannot refresh it three times in
  // a row may be taken for dead, so it stops before its next migration.
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
  const release = async () => {
    held.delete(release);
    clearInterval(timer);
    await locks.deleteOne({ _id: LOCK_ID, token });
  };
  held.add(release);
  return {
    token,
    assertHeld() {
      if (lost) throw new MigrationLockError(`${lost}; stopping before the next migration`);
    },
    release,
  };
}

export async function readMigrationLock(db: Db): Promise<LockState | undefined> {
  return (await locksOf(db).findOne({ _id: LOCK_ID })) ?? undefined;
}

/**
 * Clears a lock left by a crashed run. A lock whose heartbeat is recent belongs to a live run and
 * is kept unless force is set. Returns the cleared lock, or undefined when none was held.
 */
export async function clearMigrationLock(
  db: Db,
  options: { force: boolean; staleAfterMs?: number },
): Promise<LockState | undefined> {
  const current = await readMigrationLock(db);
  if (!current) return undefined;
  const ageMs = Date.now() - current.heartbeatAt.getTime();
  const stale = ageMs >= (options.staleAfterMs ?? 30_000) || holderIsDead(current.holder);
  if (!options.force && !stale) {
    throw new MigrationLockError(
      `the lock looks alive (${describeLock(current)}); ` +
        'if that run is really gone, clear it with `npm run migrate -- unlock --force`',
    );
  }
  await locksOf(db).deleteOne({ _id: LOCK_ID, token: current.token });
  return current;
}

/** The holder ran on this host and that process is gone (a reused pid counts as gone). */
export function holderIsDead(holder: LockHolder): boolean {
  return holder.host === hostname() && !processAlive(holder.pid, holder.startTime);
}

export function describeLock(lock: LockState): string {
  const age = Math.round((Date.now() - lock.heartbeatAt.getTime()) / 1000);
  return (
    `held by "${lock.holder.command}", pid ${lock.holder.pid} on ${lock.holder.host}, ` +
    `since ${lock.acquiredAt.toISOString()}, last heartbeat ${age}s ago`
  );
}
