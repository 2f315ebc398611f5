// npm run tags:repair — recomputes every tag's postCount from the posts (see src/tags/service.ts).
import { existsSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { connectDatabase } from '../src/db/connection.ts';
import { repairTagCounts } from '../src/tags/service.ts';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  if (!config.mongo.uri) throw new Error('MONGODB_URI is not set: say which database to repair');
  const db = await connectDatabase(config.mongo.uri, {
    dbName: config.mongo.dbName,
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  try {
    const { tags, fixed } = await repairTagCounts(db);
    console.log(
      `tags:repair: ${fixed} count(s) corrected; ${tags} tag(s) in use in ${config.mongo.dbName}`,
    );
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(
    `tags:repair failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
  );
  process.exit(1);
});
