import { hostname } from 'node:os';
import type { Db } from 'mongodb';
import { ScriptError } from '../process/script-error.ts';
import { LOCK_COLLECTION } from './settings.ts';

// The handshake between a schema change and the live APIs, ours because FerretDB v1 has neither
// change streams nor transactions: each API instance keeps a document beside the migration lock
// (a heartbeat counter, and the token of the announcement it honours); a run that changes the
// schema marks its lock `holdWrites` and waits until every instance that still beats has
// acknowledged that token. Beside the lock, so backups and restores leave them out with it.

/** How often an instance beats and reads the lock. */
export const HEARTBEAT_MS = 500;
/**
 * An instance that could not beat for this long refuses writes on its own: by then a schema
 * change may have taken it for dead (INSTANCE_EXPIRY_MS, with room for its last writes to end).
 */
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

/**
 * Waits until every registered API instance has acknowledged `token` or stopped beating for
 * expiryMs (its document is then removed); throws WriteHoldError naming the others after waitMs.
 */
export async function awaitAcknowledgements(
  db: Db,
  token: string,
  options: HoldOptions,
): Promise<void> {
  const instances = db.collection<InstanceDocument>(LOCK_COLLECTION);
  const expiryMs = options.expiryMs ?? INSTANCE_EXPIRY_MS;
  const started = Date.now();
  const lastMoved = new Map<string, { beat: number; at: number }>();
  for (let announced = false; ; announced = true) {
    const now = Date.now();
    const waiting: InstanceDocument[] = [];
    for (const instance of await instances
      .find({ _id: { $regex: `^${INSTANCE_PREFIX}` } })
      .toArray()) {
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
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function describeInstance(instance: InstanceDocument): string {
  return `pid ${instance.pid} on ${instance.host}, up since ${instance.startedAt.toISOString()}`;
}

export function newInstanceDocument(id: string): Omit<InstanceDocument, 'beat'> {
  return {
    _id: `${INSTANCE_PREFIX}${id}`,
    host: hostname(),
    pid: process.pid,
    startedAt: new Date(),
  };
}
