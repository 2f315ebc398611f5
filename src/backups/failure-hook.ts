import { spawn } from 'node:child_process';

export interface FailureReport {
  command: string;
  exitCode: number;
  message: string;
}

/**
 * Runs BACKUP_ON_FAILURE through the shell so cron setups can alert (mail, chat webhook, pager).
 * Its output goes to our stdout, keeping stderr to the one failure line. The connection string
 * is not passed on: the hook has no use for the database password. Returns why the hook itself
 * failed, if it did; that never changes the exit code of the failed run.
 */
export function runFailureHook(
  hook: string,
  report: FailureReport,
  timeoutMs = 60_000,
): Promise<string | undefined> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BACKUP_COMMAND: report.command,
    BACKUP_EXIT_CODE: String(report.exitCode),
    BACKUP_ERROR: report.message,
  };
  delete env.MONGODB_URI;
  return new Promise((resolveHook) => {
    const child = spawn(hook, { shell: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(process.stdout, { end: false });
    child.stderr?.pipe(process.stdout, { end: false });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolveHook(`failure hook could not start: ${error.message}`);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolveHook(`failure hook killed after ${timeoutMs / 1000} s`);
      else if (code !== 0) resolveHook(`failure hook exited with ${code ?? signal}`);
      else resolveHook(undefined);
    });
  });
}
