import { CHANGELOG_COLLECTION, LOCK_COLLECTIONS } from '../db/bookkeeping-collections.ts';

export { CHANGELOG_COLLECTION, LOCK_COLLECTIONS };

/** migrate-mongo's changelog and the migration locks: bookkeeping, not data. */
export function isBookkeeping(collection: string): boolean {
  return collection === CHANGELOG_COLLECTION || LOCK_COLLECTIONS.includes(collection);
}
