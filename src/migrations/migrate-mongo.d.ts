// migrate-mongo ships no types; these cover the part of its ESM API this project uses.
declare module 'migrate-mongo' {
  import type { Db, MongoClient, MongoClientOptions } from 'mongodb';

  export interface MigrateMongoConfig {
    mongodb: { url: string; databaseName: string; options?: MongoClientOptions };
    migrationsDir: string;
    changelogCollectionName: string;
    lockCollectionName?: string;
    lockTtl?: number;
    migrationFileExtension: string;
    useFileHash: boolean;
    moduleSystem: 'esm' | 'commonjs';
  }

  export interface StatusItem {
    fileName: string;
    /** ISO date string, or the literal PENDING. */
    appliedAt: string;
    migrationBlock?: number;
  }

  export const config: {
    set(content: MigrateMongoConfig): void;
    read(): Promise<MigrateMongoConfig>;
  };
  export function status(db: Db): Promise<StatusItem[]>;
  export function up(db: Db, client: MongoClient): Promise<string[]>;
  export function down(db: Db, client: MongoClient): Promise<string[]>;
  export function create(description: string): Promise<string>;
}
