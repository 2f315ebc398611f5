// npm run tags:repair — recomputes every tag's postCount from the posts (see src/tags/service.ts).
// `npm run tags:repair -- --check` only reports: exit 3 when some count has drifted (monitoring).

import { runScript } from '../src/cli/script.ts';
import { connectDatabase } from '../src/models.ts';
import { UsageError } from '../src/process/script-error.ts';
import { logLine } from '../src/process/script-log.ts';
import { repairTagCounts } from '../src/tags/service.ts';

/** Exit code of --check when some count has drifted (1 stays "the check itself failed"). */
const DRIFT_EXIT_CODE = 3;

await runScript('tags:repair', async (ctx) => {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0)
    throw new UsageError(`unknown argument ${unknown[0]}; usage: tags:repair [--check]`);
  const check = args.includes('--check');
  const config = ctx.config();
  const db = await connectDatabase(await ctx.serverUri(), {
    dbName: config.mongo.dbName,
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
    replication: config.mongo.replication,
  });
  try {
    const { tags, fixed, drift } = await repairTagCounts(db, { check });
    if (!check) {
      ctx.out(
        `tags:repair: ${fixed} count(s) corrected; ${tags} tag(s) in use in ${config.mongo.dbName}`,
      );
      return 0;
    }
    for (const d of drift.slice(0, 20))
      ctx.out(`${d.name}: stored ${d.stored}, actual ${d.actual}`);
    if (drift.length === 0) {
      ctx.out(`tags:repair --check: no drift; ${tags} tag(s) in use in ${config.mongo.dbName}`);
      return 0;
    }
    process.stderr.write(
      logLine(
        'tags:repair --check',
        `${drift.length} count(s) drifted in ${config.mongo.dbName}; run npm run tags:repair (exit ${DRIFT_EXIT_CODE})`,
      ),
    );
    return DRIFT_EXIT_CODE;
  } finally {
    await db.close();
  }
});
