import { parseArgs } from 'node:util';
import { runCli, usageErrors } from '../src/backups/cli.ts';
import { BackupError } from '../src/backups/errors.ts';
import { runVerify } from '../src/backups/verify.ts';

const USAGE = 'npm run backup:verify -- [archive]';

await runCli(
  'backup:verify',
  async (ctx) => {
    const { positionals } = usageErrors(USAGE, () =>
      parseArgs({ options: {}, allowPositionals: true }),
    );
    if (positionals.length > 1) throw new BackupError('usage', `usage: ${USAGE}`);
    const config = ctx.config();
    const result = await runVerify({
      uri: await ctx.serverUri(),
      archivePath: positionals[0],
      dir: config.backup.dir,
      database: config.mongo.dbName,
      mongorestorePath: config.backup.mongorestorePath,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
    });
    ctx.out(
      `verified ${result.archivePath}: ${result.documents} documents in ${result.manifest.collections.length} collections and ${result.manifest.changelog.migrations.length} migrations match the manifest (restored into ${result.scratchDb}, dropped; ${result.durationMs} ms)`,
    );
  },
  { failureHook: true },
);
