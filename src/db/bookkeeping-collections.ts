/**
 * The collections migrations keep beside the data, named once for the migration runner and the
 * backups that must treat them apart.
 */

/** migrate-mongo's changelog (its default name): the backup manifest reads it too. */
export const CHANGELOG_COLLECTION = 'changelog';

/** The runner's own atomic lock (migrate-mongo's needs TTL indexes and is racy). */
export const MIGRATION_LOCK_COLLECTION = 'migrations_lock';

/** Where migrate-mongo would keep its own lock; configured off, named so it is never archived. */
export const MIGRATE_MONGO_LOCK_COLLECTION = 'changelog_lock';

/** Never archived (a restored lock would block the next deploy's `up`), skipped on restore. */
export const LOCK_COLLECTIONS = [MIGRATION_LOCK_COLLECTION, MIGRATE_MONGO_LOCK_COLLECTION];
