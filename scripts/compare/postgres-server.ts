import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/process/free-port.ts';
import { ScriptError } from '../../src/process/script-error.ts';

export const NO_POSTGRES =
  'PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin): apt-get install postgresql';

export interface PostgresServer {
  version: string;
  /** A connection string for the superuser `postgres` (trust auth, 127.0.0.1 only). */
  uri(database?: string): string;
  /** A connected client of `database`; close it with end() before stop(). */
  connect(database?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

/**
 * The server binaries of the newest Debian-packaged PostgreSQL, found by their fixed place rather
 * than PATH (Debian leaves initdb and postgres off PATH); null when none is installed.
 */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/**
 * initdb and postgres refuse to run as root: as root the server runs as the Debian package's
 * `postgres` user (or `nobody`), which owns the private data folder.
 */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
      return { uid, gid };
    } catch {
      // No such user: try the next.
    }
  }
  throw new ScriptError('postgres', 'running as root and no unprivileged user to run PostgreSQL');
}

/** Waits (bounded) until the server accepts a query, or fails with its last words. */
async function waitReady(child: ChildProcess, uri: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; attempt < 300 && Date.now() < deadline; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 1000 });
    const ready = await client.connect().then(
      () => true,
      () => false,
    );
    await client.end().catch(() => {});
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within 30 s: ${log()}`);
}

/** Asks the server to stop (fast shutdown), and kills it if it has not within 10 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/**
 * A throw-away PostgreSQL: initdb in a private folder under the system's temp folder, the server
 * on a free port of 127.0.0.1 with no Unix socket, started as a child of this process. stop()
 * shuts it down and removes the folder; callers register it as a cleanup before anything else.
 */
export async function startPostgres(log: (m: string) => void): Promise<PostgresServer> {
  const bin = postgresBinaries();
  if (!bin) throw new ScriptError('no-postgres', NO_POSTGRES);
  const account = serverAccount();
  const dir = mkdtempSync(join(tmpdir(), 'compare-pg-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (account) chownSync(dir, account.uid, account.gid);
  const as = { ...account, env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } };
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', dir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-instructions'],
      { ...as, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
  } catch (error) {
    remove();
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new ScriptError('postgres', `initdb failed: ${stderr || (error as Error).message}`);
  }
  const port = await freePort();
  const options = ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
  options.push('-c', 'unix_socket_directories=', '-c', 'max_connections=20');
  const child = spawn(join(bin, 'postgres'), options, {
    ...as,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const uri = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  // The last resort when this process exits before stop() ran (a second Ctrl-C): an immediate
  // shutdown, which the server's own backends follow.
  const onExit = () => child.kill('SIGQUIT');
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    await stopChild(child);
    remove();
  };
  try {
    await waitReady(child, uri(), () => stderr.trim());
  } catch (error) {
    await stop();
    throw new ScriptError('postgres', `PostgreSQL did not start: ${(error as Error).message}`);
  }
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  log(`${version} in ${dir} on port ${port}`);
  const connect = async (database?: string) => {
    const client = new pg.Client(uri(database));
    // A connection lost while idle would otherwise crash the process: the next query fails
    // instead, and that failure is reported like any other.
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  return { version, uri, connect, stop };
}
