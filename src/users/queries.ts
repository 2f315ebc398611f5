import { type Types, trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { AppError } from '../shared/errors.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import type { UserRecord } from './model.ts';
import { USER_LISTS, type UserView } from './schemas.ts';

/** The fields a user view shows (email only to its owner). */
const PUBLIC_FIELDS = { username: 1, email: 1, createdAt: 1, updatedAt: 1 } as const;

/** Profile and account writes of a user whose deletion has begun match nothing (404). */
export const NOT_DELETING = { deletingSince: trusted({ $exists: false }) };

/** The fields of a user's record that confirm a token: whose it is, whether it was revoked. */
export const AUTH_RECORD_FIELDS = { username: 1, tokenVersion: 1 } as const;

export type AuthRecord = Pick<UserRecord, '_id' | 'username' | 'tokenVersion'>;

interface Counts {
  postCount: number;
  followerCount: number;
  followingCount: number;
}

type StoredUser = Pick<UserRecord, '_id' | 'username' | 'email' | 'createdAt' | 'updatedAt'>;

export function toUserView(
  user: StoredUser,
  options: { self: boolean; counts?: Counts },
): UserView {
  return {
    id: String(user._id),
    username: user.username,
    ...(options.self ? { email: user.email } : {}),
    ...options.counts,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

export async function findUserOrThrow(db: Database, userId: string | Types.ObjectId) {
  const user = await db.User.findById(userId, PUBLIC_FIELDS).lean();
  if (!user) throw new AppError('user-not-found', 'No user with that id');
  return user;
}

/** A token's user record (AUTH_RECORD_FIELDS), or null when the user is gone. */
export function findAuthRecord(db: Database, userId: string): Promise<AuthRecord | null> {
  return db.User.findById(userId, AUTH_RECORD_FIELDS).lean();
}

/** The user behind a login (by email or by username key), with what a password check needs. */
export function findLoginRecord(
  db: Database,
  filter: { email: string } | { usernameKey: string },
): Promise<Pick<UserRecord, '_id' | 'usernameKey' | 'passwordHash' | 'tokenVersion'> | null> {
  return db.User.findOne(filter, { usernameKey: 1, passwordHash: 1, tokenVersion: 1 }).lean();
}

/**
 * True while the user exists and its deletion has not begun: writes that might land after a
 * deletion's cascade ask this after they wrote, and undo themselves when it is false.
 */
export async function isActiveUser(
  db: Database,
  userId: string | Types.ObjectId,
): Promise<boolean> {
  return (await db.User.exists({ _id: userId, ...NOT_DELETING })) !== null;
}

/** Which of `ids` are users whose deletion has not begun (one command). */
export async function activeUserIds(db: Database, ids: string[]): Promise<Set<string>> {
  const users = await db.User.find(
    { _id: trusted({ $in: ids }), ...NOT_DELETING },
    { _id: 1 },
  ).lean();
  return new Set(users.map((u) => String(u._id)));
}

/** Users by username, one command. */
export async function findUserPage(
  db: Database,
  options: PageRequest & { sort: 'username' | '-username' },
): Promise<Page<UserView>> {
  const list = USER_LISTS[options.sort];
  const page = keysetQuery(list, options);
  const users = await db.User.find(page.filter, PUBLIC_FIELDS)
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference)
    .lean();
  return keysetPage(list, users, options.limit, (u) => toUserView(u, { self: false }));
}

/** When the user was last seen, if ever (one read of the presence collection by _id). */
export async function lastSeenOf(db: Database, userId: string): Promise<Date | undefined> {
  const presence = await db.Presence.findById(userId, { lastSeen: 1 }).lean();
  return presence?.lastSeen ?? undefined;
}
