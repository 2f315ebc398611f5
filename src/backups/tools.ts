import { type StdioOptions, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { ConnectionString } from 'mongodb-connection-string-url';
import { type DatabaseConnection, openConnection } from '../db/connection.ts';
import { projectRoot } from '../process/project-root.ts';
import { describeServer, redactSecrets } from '../shared/connection-string.ts';
import { BackupError } from './errors.ts';

/**
 * The tool to run: the configured path (MONGODUMP_PATH / MONGORESTORE_PATH: used as given, never
 * searched past), else the first on PATH, else the one `npm run setup:offline-engine` built.
 */
export function locateTool(
  name: 'mongodump' | 'mongorestore',
  options: { explicitPath?: string; pathEnv?: string; projectToolsDir?: string } = {},
): string {
  const variable = name === 'mongodump' ? 'MONGODUMP_PATH' : 'MONGORESTORE_PATH';
  if (options.explicitPath) {
    const path = resolve(options.explicitPath);
    if (!isExecutableFile(path)) {
      throw new BackupError('tool-missing', `${variable}=${path} is not an executable file`);
    }
    return path;
  }
  const pathEnv = options.pathEnv ?? process.env.PATH ?? '';
  const dirs = [
    ...pathEnv.split(delimiter).filter(Boolean),
    options.projectToolsDir ?? join(projectRoot, '.tools/bin'),
  ];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new BackupError(
    'tool-missing',
    `${name} not found on PATH or in .tools/bin: install the MongoDB Database Tools ` +
      `(https://www.mongodb.com/docs/database-tools/installation/), set ${variable}, ` +
      'or build them offline with `npm run setup:offline-engine`',
  );
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Runs fn with the path of a mongo-tools --config file holding the tools' connection string, so that
 * the URI (and its password) never shows on a command line (`ps` shows those to every user).
 * The file is 0600 in a fresh 0700 directory and removed afterwards, whatever fn does.
 */
export async function withToolConfig<T>(
  uri: string,
  fn: (configPath: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'microblog-tools-'));
  try {
    const configPath = join(dir, 'config.yaml');
    // A JSON string is a valid YAML double-quoted scalar: no escaping rules of our own.
    const yaml = `uri: ${JSON.stringify(toolConnectionString(uri))}\n`;
    await writeFile(configPath, yaml, { mode: 0o600, flag: 'wx' });
    return await fn(configPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Spawns a tool: `exited` resolves with its exit code (signals count as failures), never
 * rejects; `failureLine` is the line that says why it failed, from the tail of its log (stderr).
 */
export function startTool(path: string, args: string[], stdout: 'pipe' | 'ignore') {
  const stdio: StdioOptions = ['ignore', stdout, 'pipe'];
  const child = spawn(path, args, { stdio });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-16_000);
  });
  const exited = new Promise<number>((resolveExit) => {
    child.once('error', (error) => {
      log += `\n${error.message}`;
      resolveExit(127);
    });
    child.once('close', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
  });
  return { child, exited, failureLine: () => lastFailure(log) };
}

/** mongo-tools log lines are "<timestamp>\t<message>"; the reason is on the "Failed:" line. */
function lastFailure(log: string): string {
  const lines = log
    .split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\dT[^\t]*\t/, '').trim())
    .filter(Boolean);
  const failed = lines.filter((line) => /^Failed:|error/i.test(line)).at(-1);
  return (failed ?? lines.at(-1) ?? 'no output').replace(/^Failed:\s*/, '');
}

// mongo-tools 100.x reads these URI options as seconds although they are milliseconds
// (common/db/db.go multiplies by time.Second): the tools' own defaults are kept instead, and the
// driver reaches the server first (openServer), so an outage fails fast there.
const MISREAD_BY_TOOLS = ['serverSelectionTimeoutMS', 'connectTimeoutMS', 'socketTimeoutMS'];

/**
 * The connection string handed to mongodump/mongorestore: without a database path (the tools
 * refuse --db next to a different database in the URI; a path that named the authentication
 * database moves to authSource) and without the options the tools misread.
 */
export function toolConnectionString(uri: string): string {
  const cs = new ConnectionString(uri);
  const pathDb = decodeURIComponent(cs.pathname.replace(/^\//, ''));
  const params = cs.typedSearchParams<Record<string, unknown>>();
  if (pathDb && cs.username && !params.has('authSource')) params.set('authSource', pathDb);
  cs.pathname = '/';
  for (const name of MISREAD_BY_TOOLS) params.delete(name);
  return cs.toString();
}

/**
 * Connects with the driver before any tool runs: an outage or a bad password fails here within
 * the configured selection timeout, with a message that never carries the password.
 */
export async function openServer(
  uri: string,
  dbName: string,
  serverSelectionTimeoutMS = 5000,
): Promise<DatabaseConnection> {
  try {
    return await openConnection(uri, { dbName, serverSelectionTimeoutMS, poolSize: 4 });
  } catch (error) {
    const reason = redactSecrets((error as Error).message.split('\n')[0] ?? '', uri);
    throw new BackupError(
      'unreachable',
      `cannot reach the database server at ${describeServer(uri)}: ${reason}`,
    );
  }
}
