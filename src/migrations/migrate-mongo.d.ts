// migrate-mongo ships no types; these cover the part of its ESM API this project uses.
declare module 'migrate-mongo' {
  import type { MongoClientOptions } from 'mongodb';

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

  export const config: { set(content: MigrateMongoConfig): void };
  export function create(description: string): Promise<string>;
}
