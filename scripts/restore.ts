import { parseArgs } from 'node:util';
import { runCli, usageErrors } from '../src/backups/cli.ts';
import { BackupError } from '../src/backups/errors.ts';
import { runRestore } from '../src/backups/restore.ts';
import { releaseHeldLocks } from '../src/migrations/lock.ts';
import { holdSchema } from '../src/migrations/runner.ts';

const USAGE = 'npm run restore -- <archive> [--to <db>] [--drop]';

await runCli(
  'restore',
  async (ctx) => {
    const { values, positionals } = usageErrors(USAGE, () =>
      parseArgs({
        options: { to: { type: 'string' }, drop: { type: 'boolean' } },
        allowPositionals: true,
      }),
    );
    const [archivePath, ...extra] = positionals;
    if (!archivePath || extra.length > 0) throw new BackupError('usage', `usage: ${USAGE}`);
    const config = ctx.config();
    // A signal ends the run at once: the lock (and the APIs' hold) goes with it.
    ctx.onCleanup(releaseHeldLocks);
    const result = await runRestore({
      uri: await ctx.serverUri(),
      archivePath,
      toDb: values.to,
      drop: values.drop ?? false,
      mongorestorePath: config.backup.mongorestorePath,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
      // Live APIs of the target refuse writes until the restored schema is known to them.
      holdWrites: (db) =>
        holdSchema(db, {
          command: 'restore --drop',
          lockWaitMs: config.migrations.lockWaitSeconds * 1000,
          ackWaitMs: config.migrations.ackWaitSeconds * 1000,
          log: ctx.out,
        }),
    });
    const documents = result.manifest.collections.reduce((sum, c) => sum + c.documents, 0);
    ctx.out(
      `restored ${archivePath} into ${result.database}: ${documents} documents in ${result.manifest.collections.length} collections match the manifest`,
    );
    if (result.indexesBuiltSeparately) {
      ctx.out(
        `${result.engine}: indexes were built from the archive's definitions (--noIndexRestore)`,
      );
    }
    if (result.otherCollections.length > 0) {
      ctx.out(
        `note: ${result.database} also has collections the archive does not: ${result.otherCollections.join(', ')}`,
      );
    }
  },
  { failureHook: false },
);
