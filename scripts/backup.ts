import { parseArgs } from 'node:util';
import { runBackup } from '../src/backups/backup.ts';
import { intFlag, runCli, usageErrors } from '../src/backups/cli.ts';
import { BackupError } from '../src/backups/errors.ts';
import { pruneBackups } from '../src/backups/retention.ts';
import type { Config } from '../src/config.ts';

const USAGE =
  'npm run backup -- [--dry-run] [--no-prune] [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]';

/** The flags (checked before the configuration is read), and the retention policy they make. */
function parseFlags(loadConfig: () => Config) {
  const { values, positionals } = usageErrors(USAGE, () =>
    parseArgs({
      options: {
        'dry-run': { type: 'boolean' },
        'no-prune': { type: 'boolean' },
        'keep-last': { type: 'string' },
        'keep-daily': { type: 'string' },
        'keep-weekly': { type: 'string' },
        'keep-monthly': { type: 'string' },
      },
      allowPositionals: true,
    }),
  );
  if (positionals.length > 0)
    throw new BackupError('usage', `unexpected ${positionals[0]}; usage: ${USAGE}`);
  const config = loadConfig();
  const policy = {
    ...config.backup.keep,
    last: intFlag('keep-last', values['keep-last'], config.backup.keep.last),
    daily: intFlag('keep-daily', values['keep-daily'], config.backup.keep.daily),
    weekly: intFlag('keep-weekly', values['keep-weekly'], config.backup.keep.weekly),
    monthly: intFlag('keep-monthly', values['keep-monthly'], config.backup.keep.monthly),
  };
  return { dryRun: values['dry-run'] === true, prune: !values['no-prune'], policy };
}

await runCli(
  'backup',
  async (ctx) => {
    const { dryRun, prune, policy } = parseFlags(() => ctx.config());
    const config = ctx.config();
    if (dryRun) {
      const plan = await pruneBackups({
        dir: config.backup.dir,
        database: config.mongo.dbName,
        policy,
        dryRun: true,
        pretendBackupAt: new Date(),
      });
      ctx.out(
        `dry run: no backup made, nothing deleted; a backup now would then prune ${plan.pruned.length} of ${plan.kept.length - 1 + plan.pruned.length} archives (keep the newest ${policy.last}, ${policy.daily} daily, ${policy.weekly} weekly, ${policy.monthly} monthly, pre-migration ones ${policy.preMigrationDays} days)`,
      );
      for (const path of plan.pruned) ctx.out(`would delete ${path}`);
      for (const skipped of plan.skipped) ctx.out(`ignored ${skipped.file}: ${skipped.reason}`);
      return;
    }
    const result = await runBackup({
      uri: await ctx.serverUri(),
      dbName: config.mongo.dbName,
      dir: config.backup.dir,
      retention: prune ? policy : undefined,
      mongodumpPath: config.backup.mongodumpPath,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
      signal: ctx.signal,
    });
    // First line: the archive path after "<time> backup: " (scripts and the deploy rely on it).
    ctx.out(result.archivePath);
    const { manifest } = result;
    const documents = manifest.collections.reduce((sum, c) => sum + c.documents, 0);
    ctx.out(
      `${manifest.database}: ${documents} documents in ${manifest.collections.length} collections, ${manifest.sizeBytes} bytes, ${manifest.durationMs} ms`,
    );
    if (result.empty) {
      ctx.out(
        `warning: database ${manifest.database} holds no data (nothing but migration bookkeeping, if anything): nothing was pruned for this backup`,
      );
    }
    for (const path of result.pruned) ctx.out(`pruned ${path}`);
  },
  { failureHook: true, interruptible: true },
);
