import { join } from 'node:path';
import {
  acquireFileLock,
  type FileLock,
  FileLockError,
  type LockMechanism,
} from '../process/file-lock.ts';
import { BackupError } from './errors.ts';

export type { LockMechanism };

export interface LockOptions {
  /** auto: flock(1) when it runs here, else the socket. */
  mechanism?: 'auto' | LockMechanism;
  flockCommand?: string;
}

export const LOCK_FILE = '.backup.lock';

/**
 * One backup at a time per backup folder, with a lock the kernel drops when the holder dies
 * (src/process/file-lock.ts), so a crashed or killed run never blocks the next one the way a
 * stale PID file does. A second run fails at once: cron starts the next one later anyway.
 */
export async function acquireLock(dir: string, options: LockOptions = {}): Promise<FileLock> {
  try {
    return await acquireFileLock(join(dir, LOCK_FILE), { name: 'the backup lock', ...options });
  } catch (error) {
    if (!(error instanceof FileLockError)) throw error;
    if (error.code === 'lock-held')
      throw new BackupError('lock-held', `another backup run holds the lock: ${error.message}`);
    if (error.code === 'lock-unavailable') throw new BackupError('internal', error.message);
    throw new BackupError('io-error', error.message);
  }
}

/** Throws `lock-held` if the lock was lost while the run held it (its flock process was killed). */
export function assertLockHeld(lock: FileLock): void {
  try {
    lock.assertHeld();
  } catch (error) {
    throw new BackupError('lock-held', (error as Error).message);
  }
}
