import type { Database } from '../db/connection.ts';
import type { AuthUser } from '../shared/auth-user.ts';
import { AppError } from '../shared/errors.ts';
import { lastSeenOf, NOT_DELETING } from './queries.ts';
import type { ProfileView } from './schemas.ts';

interface StoredProfile {
  aboutMe?: string | null;
  avatarUrl?: string | null;
}

function toProfileView(
  profile: StoredProfile | undefined | null,
  lastSeen: Date | undefined,
): ProfileView {
  return {
    aboutMe: profile?.aboutMe ?? null,
    avatarUrl: profile?.avatarUrl ?? null,
    lastSeen: lastSeen?.toISOString() ?? null,
  };
}

/** The profile and the user's presence: two reads by _id, sent together. */
export async function getProfile(db: Database, userId: string): Promise<ProfileView> {
  const [user, lastSeen] = await Promise.all([
    db.User.findById(userId, { profile: 1 }).lean<{ profile?: StoredProfile }>(),
    lastSeenOf(db, userId),
  ]);
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  return toProfileView(user.profile, lastSeen);
}

/** Replaces the editable part of your profile (PUT semantics: a field left out is cleared). */
export async function putProfile(
  db: Database,
  actor: AuthUser,
  userId: string,
  input: { aboutMe?: string; avatarUrl?: string },
): Promise<ProfileView> {
  if (actor.id !== userId) throw new AppError('forbidden', 'You can only change your own profile');
  const set: Record<string, string> = {};
  const unset: Record<string, ''> = {};
  for (const field of ['aboutMe', 'avatarUrl'] as const) {
    const value = input[field];
    if (value === undefined || value === '') unset[`profile.${field}`] = '';
    else set[`profile.${field}`] = value;
  }
  const user = await db.User.findOneAndUpdate(
    { _id: userId, ...NOT_DELETING },
    {
      ...(Object.keys(set).length ? { $set: set } : {}),
      ...(Object.keys(unset).length ? { $unset: unset } : {}),
    },
    { returnDocument: 'after', runValidators: true },
  ).lean<{ profile?: StoredProfile }>();
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  return toProfileView(user.profile, await lastSeenOf(db, userId));
}
