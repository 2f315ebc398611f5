import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { acquireLock } from '../../src/backups/lock.ts';
import { locateTool, toolConnectionString } from '../../src/backups/tools.ts';
import { redactSecrets } from '../../src/shared/connection-string.ts';
import { testDbName } from '../helpers/db.ts';
import { findTools, runScript, startScript, tempDir } from './helpers.ts';

const tools = findTools();
if ('missing' in tools) console.warn(`skipping backup failure tests: ${tools.missing}`);

describe.skipIf('missing' in tools)('npm run backup, when something is wrong', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  beforeEach(async () => {
    dir = await tempDir('failures');
    env = {
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: testDbName('failures'),
      BACKUP_DIR: dir.path,
    };
  });
  afterEach(async () => {
    await dir.remove();
  });

  const leftovers = async () => (await readdir(dir.path)).filter((name) => name !== '.backup.lock');

  it('with an unreachable server, exits 5 with one line that does not show the password, and leaves no file', async () => {
    const run = await runScript('backup', [], {
      ...env,
      MONGODB_URI: 'mongodb://backup:s3cret-pw@127.0.0.1:1/?authSource=admin',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '500',
    });
    expect(run.code).toBe(5);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^backup: cannot reach the database server at 127\.0\.0\.1:1/);
    expect(run.stderr + run.stdout).not.toContain('s3cret-pw');
    expect(await leftovers()).toEqual([]);
  });

  it('with an invalid setting, exits 3 naming the variable', async () => {
    const run = await runScript('backup', [], { ...env, MONGODB_URI: 'http://not-mongodb' });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^backup: Invalid configuration: MONGODB_URI must be/);
  });

  it('with MONGODUMP_PATH pointing nowhere, exits 4 naming the variable', async () => {
    const run = await runScript('backup', [], {
      ...env,
      MONGODUMP_PATH: join(dir.path, 'no-such-mongodump'),
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(
      /^backup: MONGODUMP_PATH=.*no-such-mongodump is not an executable file \(exit 4\)\n$/,
    );
  });

  describe('as a user who may not write the backup folder (a service user before setup)', () => {
    // Root may write anywhere: as root, the command runs as nobody, as a service user would.
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? { uid: 65534, gid: 65534 } : undefined;
    const name = asRoot ? 'nobody' : userInfo().username;

    it('a folder it cannot create: exits 8, one line naming the folder, the user and the fix', async () => {
      const parent = join(dir.path, 'var-backups');
      await mkdir(parent, { mode: 0o755 });
      if (!asRoot) await chmod(parent, 0o555);
      await chmod(dir.path, 0o755);
      const folder = join(parent, 'microblog');

      const run = await runScript('backup', [], { ...env, BACKUP_DIR: folder }, tmpdir(), user);

      expect(run.code).toBe(8);
      expect(run.stderr).toBe(
        `backup: the backup folder ${folder} does not exist and user ${name} cannot create it (EACCES): create it once as root: install -d -m 0700 -o ${name} ${folder} (exit 8)\n`,
      );
    });

    it('a folder it cannot write: exits 8, one line naming the folder, the user and the fix', async () => {
      const folder = join(dir.path, 'owned-by-someone-else');
      await mkdir(folder, { mode: 0o755 });
      await chmod(folder, asRoot ? 0o700 : 0o555);
      await chmod(dir.path, 0o755);

      const run = await runScript('backup', [], { ...env, BACKUP_DIR: folder }, tmpdir(), user);

      expect(run.code).toBe(8);
      expect(run.stderr).toBe(
        `backup: the backup folder ${folder} is not writable by user ${name}: as root, chown ${name} ${folder} && chmod 0700 ${folder} (or set BACKUP_DIR to a folder ${name} owns) (exit 8)\n`,
      );
    });
  });

  it('when mongodump fails after writing part of the archive, exits 9 with its reason and removes the partial file', async () => {
    const fake = await fakeTool(
      dir.path,
      'printf "half an archive"; printf "2026-01-01T00:00:00.000+0000\\tFailed: error writing data: disk on fire\\n" >&2; exit 1',
    );
    const run = await runScript('backup', [], {
      ...env,
      MONGODUMP_PATH: fake,
      BACKUP_DIR: join(dir.path, 'out'),
    });
    expect(run.code).toBe(9);
    expect(run.stderr).toBe(
      'backup: mongodump exited with 1: error writing data: disk on fire (exit 9)\n',
    );
    expect(await readdir(join(dir.path, 'out'))).toEqual(['.backup.lock']);
  });

  it('when mongodump exits 0 but the archive is not a valid gzip archive, exits 10 and keeps nothing', async () => {
    const fake = await fakeTool(dir.path, 'printf "not gzip at all"; exit 0');
    const run = await runScript('backup', [], {
      ...env,
      MONGODUMP_PATH: fake,
      BACKUP_DIR: join(dir.path, 'out'),
    });
    expect(run.code).toBe(10);
    expect(run.stderr).toMatch(/^backup: .*not a valid gzip stream/);
    expect(await readdir(join(dir.path, 'out'))).toEqual(['.backup.lock']);
  });

  it('on SIGTERM, stops mongodump, removes the partial file and exits 18', async () => {
    // exec: the fake must be one process, as mongodump is, so that killing it closes the pipe.
    const fake = await fakeTool(dir.path, 'printf "the first bytes"; exec sleep 30');
    const out = join(dir.path, 'out');
    const { child, done } = startScript('backup', [], {
      ...env,
      MONGODUMP_PATH: fake,
      BACKUP_DIR: out,
    });
    await vi.waitFor(
      async () =>
        expect((await readdir(out).catch(() => [])).some((n) => n.endsWith('.partial'))).toBe(true),
      { timeout: 15_000, interval: 50 },
    );

    child.kill('SIGTERM');
    const run = await done;

    expect(run.code).toBe(18);
    expect(run.stderr).toBe('backup: interrupted by SIGTERM (exit 18)\n');
    expect(await readdir(out)).toEqual(['.backup.lock']);
  });

  it('while another run holds the lock, exits 6 and writes nothing', async () => {
    const lock = await acquireLock(dir.path);
    try {
      const run = await runScript('backup', [], env);
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(/^backup: another backup run holds the lock/);
      expect(await leftovers()).toEqual([]);
    } finally {
      await lock.release();
    }
    const after = await runScript('backup', ['--no-prune'], env);
    expect(after.code, after.stderr).toBe(0);
  });

  it('runs BACKUP_ON_FAILURE with the exit code and reason, without the connection string', async () => {
    const report = join(dir.path, 'hook-report');
    const run = await runScript('backup', [], {
      ...env,
      MONGODB_URI: 'mongodb://127.0.0.1:1/',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '500',
      BACKUP_ON_FAILURE: `printf '%s|%s|%s|%s' "$BACKUP_COMMAND" "$BACKUP_EXIT_CODE" "$BACKUP_ERROR" "\${MONGODB_URI:-unset}" > '${report}'`,
    });
    expect(run.code).toBe(5);
    const [command, code, message, uri] = (await readFile(report, 'utf8')).split('|');
    expect({ command, code, uri }).toEqual({ command: 'backup', code: '5', uri: 'unset' });
    expect(message).toMatch(/^backup: cannot reach the database server/);
  });

  it('reports a failing failure hook on the same single stderr line, keeping the exit code', async () => {
    const run = await runScript('backup', [], {
      ...env,
      MONGODB_URI: 'http://not-mongodb',
      BACKUP_ON_FAILURE: 'echo hook says hi; exit 3',
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(
      'backup: Invalid configuration: MONGODB_URI must be a mongodb:// or mongodb+srv:// URI (exit 3; failure hook exited with 3)\n',
    );
    expect(run.stdout).toBe('hook says hi\n');
  });
});

describe('finding the tools and handing them the connection string', () => {
  it('names the MongoDB Database Tools when mongodump is neither on PATH nor in .tools/bin', async () => {
    const empty = await tempDir('no-tools');
    try {
      expect(() =>
        locateTool('mongodump', { pathEnv: empty.path, projectToolsDir: empty.path }),
      ).toThrow(
        /mongodump not found on PATH or in \.tools\/bin: install the MongoDB Database Tools/,
      );
    } finally {
      await empty.remove();
    }
  });

  it('removes the password from the message mongodump prints when it cannot connect', () => {
    const uri = 'mongodb://bob:s3cret%2Fpw@db.example.net:27017/';
    const line =
      "can't create session: failed to connect to mongodb://bob:s3cret%2Fpw@db.example.net:27017/: server selection error";
    const redacted = redactSecrets(line, uri);
    expect(redacted).not.toMatch(/s3cret/);
    expect(redacted).toContain('db.example.net:27017');
  });

  it('gives the tools no database path (it moves to authSource) and none of the timeouts they misread', () => {
    expect(
      toolConnectionString(
        'mongodb://u:p@h1:27017,h2:27017/app?replicaSet=rs0&serverSelectionTimeoutMS=5000&connectTimeoutMS=2000',
      ),
    ).toBe('mongodb://u:p@h1:27017,h2:27017/?replicaSet=rs0&authSource=app');
    expect(toolConnectionString('mongodb://h1/app')).toBe('mongodb://h1/');
  });
});

async function fakeTool(dir: string, body: string): Promise<string> {
  const path = join(dir, 'fake-mongodump');
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}
