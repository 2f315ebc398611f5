import { resolve } from 'node:path';
import { type MigrateMongoConfig, config as migrateMongoConfig } from 'migrate-mongo';
import type { MongoClientOptions } from 'mongodb';
import {
  CHANGELOG_COLLECTION,
  MIGRATE_MONGO_LOCK_COLLECTION,
  MIGRATION_LOCK_COLLECTION,
} from '../db/bookkeeping-collections.ts';
import { projectRoot } from '../process/project-root.ts';

export { CHANGELOG_COLLECTION, projectRoot };

/** Absolute, so that the app and the tools find the files whatever the working directory. */
export const MIGRATIONS_DIR = resolve(projectRoot, 'migrations');

/** Our atomic lock (migrate-mongo's own lock needs TTL indexes and is racy). */
export const LOCK_COLLECTION = MIGRATION_LOCK_COLLECTION;

/** The settings migrate-mongo reads, shared by the root config file and the runner. */
export function migrateMongoSettings(
  url: string,
  databaseName: string,
  migrationsDir = MIGRATIONS_DIR,
  options: MongoClientOptions = {},
): MigrateMongoConfig {
  return {
    mongodb: { url, databaseName, options },
    migrationsDir,
    changelogCollectionName: CHANGELOG_COLLECTION,
    // 0 turns migrate-mongo's own lock off: it creates a TTL index (FerretDB has none) without
    // awaiting it, and checks-then-inserts, which two runs can pass together.
    lockCollectionName: MIGRATE_MONGO_LOCK_COLLECTION,
    lockTtl: 0,
    migrationFileExtension: '.js',
    useFileHash: false,
    moduleSystem: 'esm',
  };
}

/**
 * Points migrate-mongo's API (status, create) at a migrations folder. migrate-mongo keeps this in
 * module state, so one process works with one folder at a time.
 */
export function useMigrationsDir(migrationsDir = MIGRATIONS_DIR): void {
  // The API calls used here never connect, so the URL is not needed.
  migrateMongoConfig.set(migrateMongoSettings('mongodb://unused', 'unused', migrationsDir));
}
