import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { BackupError, fileSystemError } from './errors.ts';

/**
 * Creates BACKUP_DIR (0700) if it is missing and checks that this user may write in it. A folder
 * this user cannot create or write is one line naming the folder, the user and the fix: the
 * service user cannot create /var/backups/<app> itself, root creates it once for it.
 */
export async function prepareBackupFolder(dir: string): Promise<void> {
  try {
    await makeFolders(dir);
  } catch (error) {
    if (!isPermissionError(error)) throw fileSystemError(`creating ${dir}`, error);
    const user = currentUser();
    throw new BackupError(
      'io-error',
      `the backup folder ${dir} does not exist and user ${user} cannot create it (${(error as NodeJS.ErrnoException).code}): create it once as root: install -d -m 0700 -o ${user} ${dir}`,
    );
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    if (!isPermissionError(error)) throw fileSystemError(`checking ${dir}`, error);
    const user = currentUser();
    throw new BackupError(
      'io-error',
      `the backup folder ${dir} is not writable by user ${user}: as root, chown ${user} ${dir} && chmod 0700 ${dir} (or set BACKUP_DIR to a folder ${user} owns)`,
    );
  }
}

/**
 * mkdir -p, one level at a time. Not `mkdir(dir, {recursive: true})`: Node 24's loops for ever,
 * at full CPU, on a path the kernel will not create (BACKUP_DIR=/proc/self/x), where a plain
 * mkdir fails at once with ENOENT.
 */
async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let path = dir; ; path = dirname(path)) {
    const exists = await stat(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );
    if (exists || dirname(path) === path) break;
    missing.unshift(path);
  }
  for (const path of missing) {
    await mkdir(path, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error; // another command created it meanwhile
    });
  }
}

function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

/** The user name, or the uid when the system has no name for it (a container's arbitrary uid). */
function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
