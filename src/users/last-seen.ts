import type { Connection, Types } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { isDuplicateKeyError } from '../db/errors.ts';

export const LAST_SEEN_RESOLUTION_MS = 60_000;

/** Users whose presence this process wrote within the minute, oldest first (bounded). */
const MAX_REMEMBERED = 50_000;
const written = new WeakMap<Connection, Map<string, number>>();

function rememberedOf(db: Database): Map<string, number> {
  let remembered = written.get(db.connection);
  if (!remembered) {
    remembered = new Map();
    written.set(db.connection, remembered);
  }
  return remembered;
}

/**
 * Marks a user as seen now, in the presence collection, at most once a minute per process:
 * requests within the minute cost no command (this process remembers its last write), and
 * concurrent requests of one user write once between them. `$max` keeps the newest time when
 * several processes write. Two processes upserting a user's first presence at once: one insert
 * wins and the other's duplicate key means the user was just seen, which is all this records.
 */
export async function recordLastSeen(
  db: Database,
  userId: Types.ObjectId,
  now = new Date(),
): Promise<void> {
  const remembered = rememberedOf(db);
  const key = String(userId);
  const last = remembered.get(key);
  if (last !== undefined && now.getTime() - last < LAST_SEEN_RESOLUTION_MS) return;
  remembered.delete(key);
  remembered.set(key, now.getTime());
  if (remembered.size > MAX_REMEMBERED) {
    const oldest = remembered.keys().next().value;
    if (oldest !== undefined) remembered.delete(oldest);
  }
  try {
    await db.Presence.updateOne({ _id: userId }, { $max: { lastSeen: now } }, { upsert: true });
  } catch (error) {
    if (isDuplicateKeyError(error)) return;
    if (remembered.get(key) === now.getTime()) remembered.delete(key);
    throw error;
  }
}
