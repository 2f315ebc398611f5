import { parseArgs } from 'node:util';
import { runCli, usageErrors } from '../src/backups/cli.ts';
import { BackupError } from '../src/backups/errors.ts';
import { backupStatus } from '../src/backups/status.ts';

const USAGE = 'npm run backup:status -- [--max-age-hours H]';

await runCli(
  'backup:status',
  async (ctx) => {
    const { values, positionals } = usageErrors(USAGE, () =>
      parseArgs({ options: { 'max-age-hours': { type: 'string' } }, allowPositionals: true }),
    );
    if (positionals.length > 0) throw new BackupError('usage', `usage: ${USAGE}`);
    const config = ctx.config();
    const flag = values['max-age-hours'];
    const maxAgeHours = flag === undefined ? config.backup.maxAgeHours : Number(flag);
    if (!(maxAgeHours > 0))
      throw new BackupError('usage', `--max-age-hours needs a positive number, got "${flag}"`);
    const { newest, ageHours, skipped } = await backupStatus({
      dir: config.backup.dir,
      database: config.mongo.dbName,
      maxAgeHours,
    });
    const documents = newest.manifest.collections.reduce((sum, c) => sum + c.documents, 0);
    ctx.out(
      `ok: newest good backup ${newest.archivePath} finished ${newest.manifest.finishedAt}, ${ageHours.toFixed(1)} h old (threshold ${maxAgeHours} h), ${documents} documents, ${newest.manifest.sizeBytes} bytes, size and SHA-256 match its manifest`,
    );
    for (const entry of skipped) ctx.out(`ignored ${entry.file}: ${entry.reason}`);
  },
  { failureHook: false },
);
