import { existsSync } from 'node:fs';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { redactSecrets } from './connection-string.ts';
import { BACKUP_EXIT_CODES, BackupError } from './errors.ts';
import { runFailureHook } from './failure-hook.ts';

export interface CliContext {
  /** Loaded lazily so that a config error is reported like any other failure (and alerted). */
  config(): Config;
  /** MONGODB_URI, required: the backup commands never start the embedded engine. */
  uri(): string;
  out(line: string): void;
  /** interruptible commands: aborted by the first SIGTERM or SIGINT; a second exits at once. */
  signal: AbortSignal;
}

/**
 * Runs a backup command the way cron needs it: exit 0 only on success; otherwise exactly one
 * line on stderr ("<command>: <why>"), the documented exit code, and BACKUP_ON_FAILURE if asked.
 */
export async function runCli(
  command: string,
  main: (ctx: CliContext) => Promise<void>,
  options: { failureHook: boolean; interruptible?: boolean },
): Promise<void> {
  // The same .env the server reads (src/main.ts), from the folder npm runs scripts in.
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Config | undefined;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(BACKUP_EXIT_CODES.interrupted);
    abort.abort(signal);
  };
  // Only commands that clean up on abort take over the signals; the others die as usual.
  if (options.interruptible) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  const ctx: CliContext = {
    signal: abort.signal,
    config() {
      config ??= loadCliConfig();
      return config;
    },
    uri() {
      const uri = ctx.config().mongo.uri;
      if (!uri) {
        throw new BackupError(
          'config',
          'MONGODB_URI is not set: the backup commands do not start the embedded engine, point them at the server',
        );
      }
      return uri;
    },
    out: (line) => process.stdout.write(`${line}\n`),
  };
  try {
    await main(ctx);
    process.exitCode = 0;
  } catch (error) {
    const failure = asBackupError(error);
    let line = `${command}: ${oneLine(redactSecrets(failure.message, process.env.MONGODB_URI))}`;
    // Even a broken configuration should alert, so the hook is read from the raw environment.
    const hook = options.failureHook ? process.env.BACKUP_ON_FAILURE?.trim() : undefined;
    if (hook) {
      const hookProblem = await runFailureHook(hook, {
        command,
        exitCode: failure.exitCode,
        message: line,
      });
      if (hookProblem) line += ` (${hookProblem})`;
    }
    process.stderr.write(`${line}\n`);
    process.exitCode = failure.exitCode;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function loadCliConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new BackupError('config', error.message);
    throw error;
  }
}

function asBackupError(error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new BackupError('internal', `unexpected error: ${message}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ').trim();
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
