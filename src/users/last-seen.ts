import { type Types, trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';

export const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * Marks a user as seen now, at most once a minute: requests within the minute cost no write,
 * and the filter makes concurrent requests write once between them.
 */
export async function recordLastSeen(
  db: Database,
  userId: Types.ObjectId,
  lastSeen: Date | undefined,
  now = new Date(),
): Promise<void> {
  if (lastSeen && now.getTime() - lastSeen.getTime() < LAST_SEEN_RESOLUTION_MS) return;
  const cutoff = new Date(now.getTime() - LAST_SEEN_RESOLUTION_MS);
  await db.User.updateOne(
    {
      _id: userId,
      $or: [
        { 'profile.lastSeen': trusted({ $exists: false }) },
        { 'profile.lastSeen': trusted({ $lt: cutoff }) },
      ],
    },
    { $set: { 'profile.lastSeen': now } },
    { timestamps: false },
  );
}
