/**
 * One line of a command's log: `<UTC time> <command>: <text>`. Cron appends these to a log file
 * that holds every run, so each line says when it was written.
 */
export function logLine(command: string, text: string, at = new Date()): string {
  return `${at.toISOString()} ${command}: ${text}\n`;
}
