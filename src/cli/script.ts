import { type Config, ConfigError, loadConfig } from '../config.ts';
import { useLocalEngine } from '../db/local-engine.ts';
import { loadDotEnv } from '../process/env-file.ts';
import { fromProjectRoot } from '../process/project-root.ts';
import { ScriptError } from '../process/script-error.ts';
import { logLine } from '../process/script-log.ts';
import { redactSecrets } from '../shared/connection-string.ts';

export interface ScriptContext {
  /** Loaded on first use, so that a configuration error is reported like any other failure. */
  config(): Config;
  /**
   * The server to work on: MONGODB_URI, or else the data folder's shared local engine (started
   * if no command runs it yet, released when the command ends).
   */
  serverUri(): Promise<string>;
  out(line: string): void;
  /** Runs when the command ends, also after the first signal (newest first; failures ignored). */
  onCleanup(undo: () => Promise<void>): void;
  /** Aborted by the first SIGTERM or SIGINT (interruptible commands clean up and end). */
  signal: AbortSignal;
}

export interface ScriptOptions {
  /** true: the command watches `signal` and ends by itself; false: the first signal ends it. */
  interruptible?: boolean;
  /** Exit code after a second signal, or the first one of a command that is not interruptible. */
  interruptedExitCode?: number;
  /** Turns any error into the command's own error type (codes and exit codes of its family). */
  classify?: (error: unknown) => ScriptError;
  /** Runs after a failure with the one-line message; returns a note to append to it. */
  onFailure?: (failure: ScriptError, line: string) => Promise<string | undefined>;
  /** Appended to usage errors, e.g. "(npm run migrate -- help)". */
  usageHint?: string;
  /**
   * stdout lines are log lines too (the backup commands, whose output cron appends to a log):
   * each gets the time and the command in front, like the stderr lines.
   */
  logOutput?: boolean;
}

/**
 * The start-up and end of every command under scripts/: the project's .env, the configuration,
 * the shared local engine, signals (the first aborts, the second exits), and the ending: exit 0
 * on success, otherwise exactly one line on stderr ("<time> <command>: <why> (exit <code>)",
 * secrets removed) and the exit code of the error's code. Every stderr line carries its time.
 */
export async function runScript(
  command: string,
  /** Resolves with the exit code, or with nothing for 0. */
  main: (ctx: ScriptContext) => Promise<unknown>,
  options: ScriptOptions = {},
): Promise<void> {
  loadDotEnv();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const undo of cleanups.splice(0).reverse()) await undo().catch(() => {});
  };
  const abort = new AbortController();
  const unwatch = watchProcess(command, abort, cleanUp, options);
  try {
    const code = await main(scriptContext(command, abort.signal, cleanups, options));
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (error) {
    process.exitCode = await reportFailure(command, error, options);
  } finally {
    await cleanUp();
    unwatch();
  }
}

/**
 * Signals (the first aborts, or ends a command that is not interruptible; the second exits),
 * crashes and a closed output pipe, for as long as the command runs. Returns the unwatch.
 */
function watchProcess(
  command: string,
  abort: AbortController,
  cleanUp: () => Promise<void>,
  options: ScriptOptions,
): () => void {
  const interrupted = options.interruptedExitCode ?? 130;
  // The last way out: clean up (release locks) within a bound, then exit.
  const exitNow = (code: number) => {
    const bound = setTimeout(() => process.exit(code), 2000);
    bound.unref();
    void cleanUp().finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) return exitNow(interrupted);
    abort.abort(new ScriptError('interrupted', `interrupted by ${signal}`, interrupted));
    if (!options.interruptible) {
      process.stderr.write(logLine(command, `interrupted by ${signal} (exit ${interrupted})`));
      exitNow(interrupted);
    }
  };
  const onCrash = (error: unknown) => {
    process.stderr.write(logLine(command, `${oneLine(defaultClassify(error).message)} (exit 1)`));
    exitNow(1);
  };
  // A reader that went away (`| head`, or `| tee` killed by the same Ctrl-C) makes the next write
  // fail with EPIPE: the output is lost, but the command still ends its own way and cleans up.
  const onOutputError = () => {};
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  };
}

function scriptContext(
  command: string,
  signal: AbortSignal,
  cleanups: (() => Promise<void>)[],
  options: ScriptOptions,
): ScriptContext {
  let config: Config | undefined;
  const ctx: ScriptContext = {
    signal,
    config() {
      config ??= loadConfig();
      return config;
    },
    async serverUri() {
      const { mongo, embedded } = ctx.config();
      if (mongo.uri) return mongo.uri;
      const engine = await useLocalEngine({
        engine: embedded.engine,
        dataDir: fromProjectRoot(embedded.dataDir),
        port: embedded.port,
        command,
        log: (line) => process.stderr.write(logLine(command, line)),
        signal,
      });
      cleanups.push(() => engine.release());
      return engine.uri;
    },
    out: (line) => process.stdout.write(options.logOutput ? logLine(command, line) : `${line}\n`),
    onCleanup: (undo) => {
      cleanups.push(undo);
    },
  };
  return ctx;
}

/** The one stderr line of a failed command (time, why, exit code, secrets removed); its exit code. */
async function reportFailure(
  command: string,
  error: unknown,
  options: ScriptOptions,
): Promise<number> {
  const failure = (options.classify ?? defaultClassify)(error);
  let line = `${command}: ${oneLine(redactSecrets(failure.message, process.env.MONGODB_URI))}`;
  if (failure.code === 'usage' && options.usageHint) line += ` ${options.usageHint}`;
  const note = await options.onFailure?.(failure, line);
  const exit = note ? `exit ${failure.exitCode}; ${note}` : `exit ${failure.exitCode}`;
  // With its time and exit code: cron mails stderr, and the log keeps it beside the history.
  process.stderr.write(`${new Date().toISOString()} ${line} (${exit})\n`);
  return failure.exitCode;
}

/** ScriptErrors as they are; a configuration error is `config`; anything else `internal`. */
export function defaultClassify(error: unknown): ScriptError {
  if (error instanceof ScriptError) return error;
  if (error instanceof ConfigError) return new ScriptError('config', error.message);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ScriptError('internal', `unexpected error: ${message}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ').trim();
}
