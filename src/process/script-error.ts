/**
 * An error a command ends with: a stable code (what monitoring and tests match on), one line of
 * message, and the exit code. Error types of the components (BackupError, migration errors,
 * engine errors) extend it, so the script runner reports every failure the same way.
 */
export class ScriptError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = 'ScriptError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad arguments: exit 2 for every command (the shell convention). */
export class UsageError extends ScriptError {
  constructor(message: string) {
    super('usage', message, 2);
  }
}
