import { defaultClassify, runScript, type ScriptContext } from '../cli/script.ts';
import { BACKUP_EXIT_CODES, BackupError, type BackupErrorCode } from './errors.ts';
import { runFailureHook } from './failure-hook.ts';

export type CliContext = ScriptContext;

/**
 * Runs a backup command the way cron needs it, on the script runner: exit 0 only on success;
 * otherwise exactly one line on stderr ("<command>: <why>"), the documented exit code, and
 * BACKUP_ON_FAILURE if asked. Without MONGODB_URI the commands use the shared local engine.
 */
export async function runCli(
  command: string,
  main: (ctx: CliContext) => Promise<void>,
  options: { failureHook: boolean; interruptible?: boolean },
): Promise<void> {
  await runScript(command, main, {
    interruptible: options.interruptible,
    logOutput: true,
    interruptedExitCode: BACKUP_EXIT_CODES.interrupted,
    classify: asBackupError,
    onFailure: async (failure, line) => {
      // Even a broken configuration should alert, so the hook is read from the raw environment.
      const hook = options.failureHook ? process.env.BACKUP_ON_FAILURE?.trim() : undefined;
      if (!hook) return undefined;
      return runFailureHook(hook, { command, exitCode: failure.exitCode, message: line });
    },
  });
}

/** Every failure as one of the documented backup codes. */
function asBackupError(error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  const failure = defaultClassify(error);
  const code = failure.code in BACKUP_EXIT_CODES ? (failure.code as BackupErrorCode) : 'internal';
  return new BackupError(code, failure.message);
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
