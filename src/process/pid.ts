import { readFileSync } from 'node:fs';

/**
 * The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22) on Linux,
 * undefined elsewhere or when it is gone. Stored beside a pid, it tells a reused pid apart.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a running process (and the same one, when its start time was recorded). */
export function processAlive(pid: number, startTime?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStartTime(pid);
  if (now === undefined) return process.platform !== 'linux';
  return startTime === undefined || startTime === now;
}
