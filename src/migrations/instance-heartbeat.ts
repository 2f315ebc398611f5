import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { withinMs } from '../shared/deadline.ts';
import { readMigrationLock } from './lock.ts';
import { LOCK_COLLECTION } from './settings.ts';
import {
  HEARTBEAT_MS,
  type InstanceDocument,
  newInstanceDocument,
  STALE_AFTER_MS,
} from './write-hold.ts';

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

/**
 * This API instance's half of the write hold (src/migrations/write-hold.ts): each beat first
 * bumps its counter (a run that reads the registry afterwards waits for it) and then reads the
 * lock. An announced change is honoured at once in memory; the acknowledgement follows with the
 * next beat once no write is in flight. Writes stay refused after the lock is gone until a
 * reading started after its release says the schema matches.
 */
export function startHeartbeat(options: HeartbeatOptions): InstanceHeartbeat {
  const { db } = options;
  const instances = db.collection<InstanceDocument>(LOCK_COLLECTION);
  const { _id, ...identity } = newInstanceDocument(randomUUID());
  const period = options.heartbeatMs ?? HEARTBEAT_MS;
  let held: string | undefined;
  let acked: string | null = null;
  let lastBeat: number | undefined;
  let releasing: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;

  const beat = async () => {
    const started = Date.now();
    const ack = held !== undefined && options.inFlight() === 0 ? held : null;
    await instances.updateOne(
      { _id },
      { $set: { ...identity, ack }, $inc: { beat: 1 } },
      { upsert: true },
    );
    acked = ack;
    const lock = await readMigrationLock(db);
    if (lock?.holdWrites) {
      if (held !== lock.token) {
        held = lock.token;
        options.log.warn('writes refused: a schema change was announced (migrate or restore)');
      }
    } else if (held !== undefined && !releasing) {
      releasing = options
        .confirmRelease()
        .then(() => {
          held = undefined;
          options.log.info('the schema change is over: writes follow the schema again');
        })
        .catch(() => {}) // the next beat tries again
        .finally(() => {
          releasing = undefined;
        });
    }
    lastBeat = started;
  };
  const awaitingAck = () => held !== undefined && held !== acked && options.inFlight() === 0;
  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  };
  function run(): Promise<void> {
    // Bounded: a beat the server never answers must not stop the later ones.
    beating ??= withinMs(beat(), period * 4, () => undefined)
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
      await releasing;
    },
    held: () => held,
    fresh: () => lastBeat !== undefined && Date.now() - lastBeat < STALE_AFTER_MS,
    nudge() {
      if (awaitingAck() && !beating) schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await beating;
      await instances.deleteOne({ _id }).catch(() => {});
    },
  };
}
