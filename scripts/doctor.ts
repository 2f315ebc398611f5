// npm run doctor — tries, in a scratch database it drops afterwards, the rules of MongoDB the app
// relies on (src/db/doctor/), on MONGODB_URI or the local engine, and prints one line per rule:
// kept, n/a, worked around (and how), or UNSAFE (and the setting to use). Exit 0 when the app is
// safe on this server, 1 naming the first rule that is not.

import { runScript } from '../src/cli/script.ts';
import { openConnection } from '../src/db/connection.ts';
import { examineServer, scratchDatabaseName } from '../src/db/doctor/index.ts';
import { ScriptError, UsageError } from '../src/process/script-error.ts';
import { redactSecrets } from '../src/shared/connection-string.ts';

await runScript('doctor', async (ctx) => {
  const extra = process.argv.slice(2);
  if (extra.length > 0) throw new UsageError(`unknown argument ${extra[0]}; usage: doctor`);
  const config = ctx.config();
  const uri = await ctx.serverUri();
  const scratch = scratchDatabaseName();
  const server = await openConnection(uri, {
    dbName: scratch,
    poolSize: 50,
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
    replication: config.mongo.replication,
    engineRules: config.mongo.engineRules,
  });
  // Also after Ctrl-C: the runner's clean-ups run on the first signal.
  ctx.onCleanup(async () => {
    await server.connection.getClient().db(scratch).dropDatabase();
    await server.close();
  });
  const caps = server.capabilities;
  ctx.out(
    `doctor: ${redactSecrets(uri)}: ${caps.engine} ${caps.engineVersion} (reports ${caps.serverVersion}); scratch database ${scratch}`,
  );
  const { retryWrites } = config.mongo.replication;
  const findings = await examineServer(server.connection.getClient(), scratch, caps, retryWrites);
  for (const f of findings) ctx.out(`${f.verdict.padEnd(13)} ${f.rule}: ${f.detail}`);
  const unsafe = findings.filter((f) => f.verdict === 'UNSAFE');
  if (unsafe.length > 0) {
    const first = unsafe[0] as (typeof unsafe)[number];
    throw new ScriptError(
      'unsafe-engine',
      `the app is not safe on this server: ${first.rule} is broken${unsafe.length > 1 ? ` (and ${unsafe.length - 1} more)` : ''}; ${first.detail.slice(first.detail.lastIndexOf('use: '))}`,
    );
  }
  const around = findings.filter((f) => f.verdict === 'worked around').length;
  ctx.out(`doctor: the app is safe on this server (${around} rule(s) broken and worked around)`);
});
