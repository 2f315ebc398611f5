import { spawn } from 'node:child_process';
import { defaultClassify, runScript, type ScriptContext } from '../cli/script.ts';
import { BACKUP_EXIT_CODES, BackupError, type BackupErrorCode } from './errors.ts';

/**
 * Runs a backup command the way cron needs it, on the script runner: exit 0 only on success;
 * otherwise exactly one line on stderr ("<command>: <why>"), the documented exit code, and
 * BACKUP_ON_FAILURE if asked. Without MONGODB_URI the commands use the shared local engine.
 */
export async function runCli(
  command: string,
  main: (ctx: ScriptContext) => Promise<void>,
  options: { failureHook: boolean; interruptible?: boolean },
): Promise<void> {
  await runScript(command, main, {
    interruptible: options.interruptible,
    logOutput: true,
    interruptedExitCode: BACKUP_EXIT_CODES.interrupted,
    classify: (error) => {
      if (error instanceof BackupError) return error;
      const failure = defaultClassify(error);
      const known = failure.code in BACKUP_EXIT_CODES;
      return new BackupError(
        known ? (failure.code as BackupErrorCode) : 'internal',
        failure.message,
      );
    },
    onFailure: async (failure, line) => {
      // Even a broken configuration should alert, so the hook is read from the raw environment.
      const hook = options.failureHook ? process.env.BACKUP_ON_FAILURE?.trim() : undefined;
      return hook ? runFailureHook(hook, command, failure.exitCode, line) : undefined;
    },
  });
}

/**
 * Runs BACKUP_ON_FAILURE through the shell so cron setups can alert (mail, chat webhook, pager).
 * Its output goes to our stdout, keeping stderr to the one failure line. The connection string
 * is not passed on: the hook has no use for the database password. Returns why the hook itself
 * failed, if it did; that never changes the exit code of the failed run.
 */
function runFailureHook(
  hook: string,
  command: string,
  exitCode: number,
  message: string,
): Promise<string | undefined> {
  const timeoutMs = 60_000;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BACKUP_COMMAND: command,
    BACKUP_EXIT_CODE: String(exitCode),
    BACKUP_ERROR: message,
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

/** Runs node:util parseArgs (or any argument check), turning its errors into usage errors. */
export function usageErrors<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new BackupError('usage', `${(error as Error).message.split('\n')[0]}; usage: ${usage}`);
  }
}

/** A non-negative integer flag, or the usage error naming it. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new BackupError('usage', `--${name} needs a whole number, got "${value}"`);
  return Number(value);
}
