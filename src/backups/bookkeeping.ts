/** migrate-mongo's changelog collection; the backup manifest reads it, so it keeps that name. */
export const CHANGELOG_COLLECTION = 'changelog';

/**
 * The migration locks: never archived (a restored lock would block the next deploy's `up`), and
 * left out when an older archive holding one is restored.
 */
export const LOCK_COLLECTIONS = ['migrations_lock', 'changelog_lock'];

/** migrate-mongo's changelog and the migration locks: bookkeeping, not data. */
export function isBookkeeping(collection: string): boolean {
  return collection === CHANGELOG_COLLECTION || LOCK_COLLECTIONS.includes(collection);
}
