// npm run tags:repair — recomputes every tag's postCount from the posts (see src/tags/service.ts).
import { connectDatabase } from '../src/db/connection.ts';
import { runScript } from '../src/process/script.ts';
import { repairTagCounts } from '../src/tags/service.ts';

await runScript('tags:repair', async (ctx) => {
  const config = ctx.config();
  const db = await connectDatabase(await ctx.serverUri(), {
    dbName: config.mongo.dbName,
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  try {
    const { tags, fixed } = await repairTagCounts(db);
    ctx.out(
      `tags:repair: ${fixed} count(s) corrected; ${tags} tag(s) in use in ${config.mongo.dbName}`,
    );
  } finally {
    await db.close();
  }
});
