// npm run tags:repair — recomputes every tag's postCount from the posts (see src/tags/service.ts).
// `npm run tags:repair -- --check` only reports: exit 3 when some count has drifted (monitoring).
import { existsSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { connectDatabase } from '../src/db/connection.ts';
import { repairTagCounts } from '../src/tags/service.ts';

/** Exit code of --check when some count has drifted (1 stays "the check itself failed"). */
const DRIFT_EXIT_CODE = 3;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0)
    throw new Error(`unknown argument ${unknown[0]}; usage: tags:repair [--check]`);
  const check = args.includes('--check');
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  if (!config.mongo.uri) throw new Error('MONGODB_URI is not set: say which database to repair');
  const db = await connectDatabase(config.mongo.uri, {
    dbName: config.mongo.dbName,
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  try {
    const { tags, fixed, drift } = await repairTagCounts(db, { check });
    if (!check) {
      console.log(
        `tags:repair: ${fixed} count(s) corrected; ${tags} tag(s) in use in ${config.mongo.dbName}`,
      );
      return;
    }
    for (const d of drift.slice(0, 20))
      console.log(`${d.name}: stored ${d.stored}, actual ${d.actual}`);
    if (drift.length > 0) {
      console.error(
        `tags:repair --check: ${drift.length} count(s) drifted in ${config.mongo.dbName}; run npm run tags:repair`,
      );
      process.exitCode = DRIFT_EXIT_CODE;
    } else {
      console.log(`tags:repair --check: no drift; ${tags} tag(s) in use in ${config.mongo.dbName}`);
    }
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
