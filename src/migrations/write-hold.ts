import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { MIGRATION_LOCK_COLLECTION as LOCK_COLLECTION } from '../db/bookkeeping-collections.ts';
import { ScriptError } from '../process/script-error.ts';
import { withinMs } from '../shared/deadline.ts';
import { type MigrationLock, readMigrationLock } from './lock.ts';

// The handshake between a schema change and the live APIs, ours because FerretDB v1 has neither
// change streams nor transactions: each API instance keeps a document beside the migration lock
// (a heartbeat counter, and the token of the announcement it honours); a run that changes the
// schema marks its lock `holdWrites` and waits until every instance that still beats has
// acknowledged that token. Beside the lock, so backups and restores leave them out with it.

/** How often an instance beats and reads the lock. */
export const HEARTBEAT_MS = 500;
/** An instance that could not beat for this long refuses writes on its own (see EXPIRY_MS). */
export const STALE_AFTER_MS = 5_000;
/** An instance whose counter has not moved for this long is gone; its document is removed. */
export const INSTANCE_EXPIRY_MS = 15_000;

export const INSTANCE_PREFIX = 'api:';

export interface InstanceDocument {
  _id: string;
  host: string;
  pid: number;
  startedAt: Date;
  /** Incremented by every heartbeat: liveness is judged by its movement, not by clocks. */
  beat: number;
  /** The lock token whose announcement this instance honours (writes refused, none in flight). */
  ack?: string | null;
}

/** Live API instances did not confirm in time that they refuse writes; nothing was changed. */
export class WriteHoldError extends ScriptError {
  constructor(message: string) {
    super('writes-not-held', message);
    this.name = 'WriteHoldError';
  }
}

export interface HoldOptions {
  /** How long to wait for every live instance (MIGRATION_ACK_WAIT_SECONDS). */
  waitMs: number;
  expiryMs?: number;
  log?: (line: string) => void;
}

const describeInstance = (instance: InstanceDocument) =>
  `pid ${instance.pid} on ${instance.host}, up since ${instance.startedAt.toISOString()}`;

/**
 * Announces a schema change on the held lock, then waits until every registered API instance has
 * acknowledged its token or stopped beating for expiryMs (its document is then removed); throws
 * WriteHoldError naming the others after waitMs.
 */
export async function holdWrites(db: Db, { token }: MigrationLock, options: HoldOptions) {
  const instances = db.collection<InstanceDocument>(LOCK_COLLECTION);
  const expiryMs = options.expiryMs ?? INSTANCE_EXPIRY_MS;
  const started = Date.now();
  const lastMoved = new Map<string, { beat: number; at: number }>();
  await db.collection(LOCK_COLLECTION).updateOne({ token }, { $set: { holdWrites: true } });
  for (let announced = false; ; announced = true) {
    const now = Date.now();
    const waiting: InstanceDocument[] = [];
    const registered = instances.find({ _id: { $regex: `^${INSTANCE_PREFIX}` } });
    for (const instance of await registered.toArray()) {
      if (instance.ack === token) continue;
      const seen = lastMoved.get(instance._id);
      if (!seen || seen.beat !== instance.beat) {
        lastMoved.set(instance._id, { beat: instance.beat, at: now });
      } else if (now - seen.at >= expiryMs) {
        // By its counter too: an instance that beat meanwhile keeps its document.
        await instances.deleteOne({ _id: instance._id, beat: instance.beat });
        options.log?.(`API instance ${describeInstance(instance)} stopped beating: forgotten`);
        continue;
      }
      waiting.push(instance);
    }
    if (waiting.length === 0) return;
    if (now - started >= options.waitMs) {
      throw new WriteHoldError(
        `${waiting.length} live API instances did not confirm within ${Math.round(options.waitMs / 1000)} s that they refuse writes (${waiting.map(describeInstance).join(', ')}); nothing was changed`,
      );
    }
    if (!announced) options.log?.(`waiting for ${waiting.length} API instances to stop writing`);
    await sleep(100);
  }
}

export interface InstanceHeartbeat {
  /** The token of the schema change this instance honours, while it holds writes. */
  held(): string | undefined;
  /** False until the first beat, and when the last one is older than STALE_AFTER_MS. */
  fresh(): boolean;
  /** Beats again at once (a write in flight ended while an acknowledgement waits for it). */
  nudge(): void;
  /** Beats now and waits for it, and for a release it found to be confirmed (for /readyz). */
  settle(): Promise<void>;
  /** Settles when the first beat has ended, answered or not. */
  firstBeat: Promise<void>;
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  db: Db;
  /** Writes this instance let through that have not answered yet. */
  inFlight(): number;
  /** Resolves once a reading of the schema started after the call says it is safe to go on. */
  confirmRelease(): Promise<void>;
  log: { info(message: string): void; warn(message: string): void };
  heartbeatMs?: number;
}

interface BeatState {
  /** The token of the announcement honoured in memory (writes refused). */
  held?: string;
  /** The token the registry says this instance acknowledged. */
  acked: string | null;
  lastBeat?: number;
  releasing?: Promise<void>;
}

/**
 * One beat: bumps this instance's counter first (a run that reads the registry afterwards waits
 * for it), acknowledging a held token once no write is in flight, then reads the lock.
 */
async function beat(id: string, state: BeatState, options: HeartbeatOptions, identity: object) {
  const started = Date.now();
  const ack = state.held !== undefined && options.inFlight() === 0 ? state.held : null;
  await options.db
    .collection<InstanceDocument>(LOCK_COLLECTION)
    .updateOne({ _id: id }, { $set: { ...identity, ack }, $inc: { beat: 1 } }, { upsert: true });
  state.acked = ack;
  const lock = await readMigrationLock(options.db);
  if (lock?.holdWrites && state.held !== lock.token) {
    state.held = lock.token;
    options.log.warn('writes refused: a schema change was announced (migrate or restore)');
  } else if (!lock?.holdWrites && state.held !== undefined && !state.releasing) {
    // Writes stay refused until a reading started after the release says the schema matches.
    state.releasing = options
      .confirmRelease()
      .then(() => {
        state.held = undefined;
        options.log.info('the schema change is over: writes follow the schema again');
      })
      .catch(() => {}) // the next beat tries again
      .finally(() => {
        state.releasing = undefined;
      });
  }
  state.lastBeat = started;
}

/**
 * This API instance's half: beats every heartbeatMs; an announced change is honoured at once in
 * memory, and acknowledged with the next beat once no write is in flight.
 */
export function startHeartbeat(options: HeartbeatOptions): InstanceHeartbeat {
  const id = `${INSTANCE_PREFIX}${randomUUID()}`;
  const identity = { host: hostname(), pid: process.pid, startedAt: new Date() };
  const period = options.heartbeatMs ?? HEARTBEAT_MS;
  const state: BeatState = { acked: null };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;
  const awaitingAck = () =>
    state.held !== undefined && state.held !== state.acked && options.inFlight() === 0;
  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  };
  function run(): Promise<void> {
    // Bounded: a beat the server never answers must not stop the later ones.
    beating ??= withinMs(beat(id, state, options, identity), period * 4, () => undefined)
      .catch((error: Error) => options.log.warn(`heartbeat failed: ${error.message}`))
      .finally(() => {
        beating = undefined;
        // Acknowledge soon rather than at the next period once a hold is honoured.
        schedule(awaitingAck() ? 50 : period);
      });
    return beating;
  }
  const firstBeat = run();
  return {
    firstBeat,
    async settle() {
      await beating;
      clearTimeout(timer);
      await run();
      await state.releasing;
    },
    held: () => state.held,
    fresh: () => state.lastBeat !== undefined && Date.now() - state.lastBeat < STALE_AFTER_MS,
    nudge() {
      if (awaitingAck() && !beating) schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await beating;
      await options.db
        .collection<InstanceDocument>(LOCK_COLLECTION)
        .deleteOne({ _id: id })
        .catch(() => {});
    },
  };
}
