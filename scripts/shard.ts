// npm run shard -- --plan    prints the commands that apply the shard plan (src/scaling/shard-plan.ts)
// npm run shard -- --apply   runs them on the cluster MONGODB_URI names, which must be a mongos
import { MongoClient } from 'mongodb';
import { runScript } from '../src/cli/script.ts';
import { ScriptError, UsageError } from '../src/process/script-error.ts';
import { mongoshLine, shardSteps } from '../src/scaling/shard-plan.ts';
import { describeServer } from '../src/shared/connection-string.ts';

await runScript('shard', async (ctx) => {
  const args = process.argv.slice(2);
  const mode = args[0];
  if (args.length !== 1 || (mode !== '--plan' && mode !== '--apply')) {
    throw new UsageError('usage: npm run shard -- --plan | --apply');
  }
  const config = ctx.config();
  const steps = shardSteps(config.mongo.dbName);
  if (mode === '--plan') {
    ctx.out(`// the shard plan for database ${config.mongo.dbName}; docs/scaling.md says why`);
    for (const step of steps) ctx.out(mongoshLine(step));
    return 0;
  }
  const uri = config.mongo.uri;
  if (!uri) {
    throw new ScriptError(
      'not-mongos',
      "MONGODB_URI is unset: --apply runs on a sharded cluster's mongos, never on the local engine",
    );
  }
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    // mongos answers hello with msg: 'isdbgrid'; a replica set member or standalone does not.
    if (hello.msg !== 'isdbgrid') {
      throw new ScriptError(
        'not-mongos',
        `${describeServer(uri)} is not a mongos (its hello has no msg: 'isdbgrid'): point MONGODB_URI at the cluster's router; nothing was changed`,
      );
    }
    for (const step of steps) {
      ctx.out(`running ${mongoshLine(step)}`);
      try {
        await client.db(step.database).command(step.command);
      } catch (error) {
        throw new ScriptError(
          'shard-failed',
          `${Object.keys(step.command)[0]} failed: ${(error as Error).message}; the steps before it were applied, the rest were not (rerunning is safe)`,
        );
      }
    }
    ctx.out(`shard: applied the plan to ${config.mongo.dbName} (${steps.length} commands)`);
    return 0;
  } finally {
    await client.close();
  }
});
