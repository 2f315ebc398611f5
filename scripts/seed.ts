// npm run seed [-- --reset] [--seed <n>] — sample data for exploring the API and npm run shell: a
// few dozen users with profiles, posts with tags over six weeks, follows; the same data for the
// same seed. Refuses a database that holds users unless --reset (which first deletes the users,
// posts, tags and follows). Applies pending migrations first, as npm start does.

import { parseArgs } from 'node:util';
import { runScript } from '../src/cli/script.ts';
import { enforceMigrationPolicy } from '../src/migrations/runner.ts';
import { connectDatabase } from '../src/models.ts';
import { ScriptError, UsageError } from '../src/process/script-error.ts';
import { logLine } from '../src/process/script-log.ts';
import { seedDataset } from './bench/seed.ts';
import {
  SAMPLE_PASSWORD,
  SAMPLE_SCALE,
  SAMPLE_WEEKS,
  sampleContent,
} from './seed/sample-content.ts';

const USAGE = 'usage: npm run seed -- [--reset] [--seed <non-negative integer>]';

function parseOptions(argv: string[]): { reset: boolean; seed: number } {
  let values: { reset?: boolean; seed?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { reset: { type: 'boolean' }, seed: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; ${USAGE}`);
  }
  const seed = Number(values.seed ?? '1');
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new UsageError(`--seed must be a non-negative integer, not ${values.seed}; ${USAGE}`);
  }
  return { reset: values.reset === true, seed };
}

await runScript('seed', async (ctx) => {
  const options = parseOptions(process.argv.slice(2));
  const config = ctx.config();
  if (config.env === 'production') {
    throw new ScriptError('production', 'refusing to put sample data in a production database');
  }
  const uri = await ctx.serverUri();
  const { dbName } = config.mongo;
  const db = await connectDatabase(uri, { dbName, replication: config.mongo.replication });
  ctx.onCleanup(() => db.close());
  const log = (line: string) => process.stderr.write(logLine('seed', line));
  const client = db.connection.getClient();
  await enforceMigrationPolicy({
    target: { client, db: client.db(dbName) },
    uri,
    config,
    log: { info: log, warn: log },
    signal: ctx.signal,
  });
  const users = await db.User.countDocuments();
  if (users > 0 && !options.reset) {
    throw new ScriptError(
      'not-empty',
      `database "${dbName}" already holds ${users} users; npm run seed -- --reset replaces its users, posts, tags and follows`,
    );
  }
  if (options.reset) {
    for (const model of Object.values(db.connection.models)) await model.deleteMany({});
  }
  const data = await seedDataset(client.db(dbName), SAMPLE_SCALE, log, sampleContent(options.seed));
  ctx.out(
    `seed: ${data.users} users, ${data.posts} posts over ${SAMPLE_WEEKS} weeks with ${data.tags} tags, ${data.follows} follows in "${dbName}" (seed ${options.seed}); every password: ${SAMPLE_PASSWORD}`,
  );
  ctx.out(
    `try (with npm start running): curl -s 'http://${config.host}:${config.port}/api/posts?limit=3'`,
  );
});
