import type { Config } from '../config.ts';
import { ScriptError } from '../process/script-error.ts';
import { backupBeforeMigrating } from './backup.ts';
import { throttledStderrReporter } from './migration-kit.js';
import { type MigrationTarget, migrateUp } from './runner.ts';
import { readMigrationStatus } from './status.ts';

/** Start-up refused: migrations are pending (MIGRATIONS_ON_START=refuse). */
export class PendingMigrationsError extends ScriptError {
  constructor(message: string) {
    super('migrations-pending', message);
    this.name = 'PendingMigrationsError';
  }
}

export interface StartupCheckOptions {
  target: MigrationTarget;
  /** For the backup before applying (mongodump connects on its own). */
  uri: string;
  config: Config;
  log: { info(message: string): void; warn(message: string): void };
  signal?: AbortSignal;
}

/**
 * Start-up with pending migrations, as MIGRATIONS_ON_START says: refuse (one line naming them),
 * apply them (under the lock, after the backup, as `npm run migrate -- up` would), or warn and
 * serve while /readyz answers 503.
 */
export async function enforceMigrationPolicy(options: StartupCheckOptions): Promise<void> {
  const { config, target, log } = options;
  const status = await readMigrationStatus(target.db);
  for (const name of status.unknown) {
    log.warn(`applied migration ${name} is not in migrations/: the database is ahead of this code`);
  }
  if (status.pending.length === 0) return;
  const summary = `${status.pending.length} pending migrations: ${status.pending.join(', ')}`;
  const policy = config.migrations.onStart;
  if (policy === 'refuse') {
    throw new PendingMigrationsError(
      `${summary}; run \`npm run migrate -- up\` first (or set MIGRATIONS_ON_START=apply)`,
    );
  }
  if (policy === 'warn') {
    log.warn(`${summary}; serving anyway (MIGRATIONS_ON_START=warn), /readyz answers 503`);
    return;
  }
  log.info(`${summary}; applying them (MIGRATIONS_ON_START=apply)`);
  await migrateUp(target, {
    command: 'start-up (MIGRATIONS_ON_START=apply)',
    lockWaitMs: config.migrations.lockWaitSeconds * 1000,
    ackWaitMs: config.migrations.ackWaitSeconds * 1000,
    batch: {
      batchSize: config.migrations.batchSize,
      signal: options.signal,
      onProgress: throttledStderrReporter(2000),
    },
    log: (line) => log.info(line),
    beforeApply: () =>
      backupBeforeMigrating({
        db: target.db,
        uri: options.uri,
        config,
        enabled: config.migrations.backup,
        signal: options.signal,
        log: (line) => log.info(line),
      }),
  });
}
