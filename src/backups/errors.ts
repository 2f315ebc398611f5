import { ScriptError } from '../process/script-error.ts';

/**
 * Every way a backup command can fail, with the exit code cron and monitoring see. The codes are
 * part of the operator contract (docs/backups.md lists them): never renumber, only add.
 */
export const BACKUP_EXIT_CODES = {
  internal: 1,
  usage: 2,
  config: 3,
  'tool-missing': 4,
  unreachable: 5,
  'lock-held': 6,
  'disk-full': 7,
  'io-error': 8,
  'dump-failed': 9,
  'corrupt-archive': 10,
  'checksum-mismatch': 11,
  'manifest-missing': 12,
  'target-not-empty': 13,
  'restore-failed': 14,
  'restore-mismatch': 15,
  'no-backup': 16,
  'backup-too-old': 17,
  interrupted: 18,
  'engine-unavailable': 19,
} as const;

export type BackupErrorCode = keyof typeof BACKUP_EXIT_CODES;

export class BackupError extends ScriptError {
  declare readonly code: BackupErrorCode;

  constructor(code: BackupErrorCode, message: string) {
    super(code, message, BACKUP_EXIT_CODES[code]);
    this.name = 'BackupError';
  }
}

/** Maps a failed write to the codes operators act on differently (free space vs. anything else). */
export function fileSystemError(action: string, error: unknown): BackupError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = (error as Error).message;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BackupError('disk-full', `disk full while ${action}: ${reason}`);
  }
  return new BackupError('io-error', `${action} failed: ${reason}`);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const { reason } = signal;
  const message = reason instanceof Error ? reason.message : `interrupted (${reason})`;
  throw new BackupError('interrupted', message);
}
