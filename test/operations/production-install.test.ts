import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/process/project-root.ts';
import { testDbName } from '../helpers/db.ts';
import { startProcess } from '../helpers/process.ts';

/**
 * The production install as the Dockerfile makes it, without a container engine: its COPY, RUN,
 * ENV and CMD steps (and the HEALTHCHECK command) run in a clean copy of the project, read from
 * the Dockerfile itself so that the two cannot drift apart; migrations and the backup run as
 * compose.yaml runs them. Then the API serves requests from that copy against MONGODB_URI.
 */

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's stages by name: instructions, continuation lines joined, comments dropped. */
function dockerfileStages(text: string): Map<string, Instruction[]> {
  const stages = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  for (const line of lines.map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, op = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op === 'FROM') {
      current = [];
      stages.set(/\bAS\s+(\S+)$/i.exec(args)?.[1] ?? args, current);
    } else {
      current.push({ op, args });
    }
  }
  return stages;
}

/** `KEY=value KEY2=value2` of an ENV instruction. */
const envOf = (args: string) =>
  Object.fromEntries(args.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string]));

/** The JSON array after `command:` in a compose service's block. */
function composeCommand(text: string, service: string): string[] {
  const block = new RegExp(`\\n  ${service}:\\n((?:    .*\\n|\\s*\\n)+)`).exec(text)?.[1] ?? '';
  const command = /\n?\s+command: (\[.*\])/.exec(block)?.[1];
  if (!command) throw new Error(`compose.yaml: no command for ${service}`);
  return JSON.parse(command);
}

const dockerfile = dockerfileStages(readFileSync(join(projectRoot, 'Dockerfile'), 'utf8'));
const compose = readFileSync(join(projectRoot, 'compose.yaml'), 'utf8');
const stage = (name: string) => {
  const found = dockerfile.get(name);
  if (!found) throw new Error(`Dockerfile: no stage ${name}`);
  return found;
};

let dir: string;
/** The environment the image sets (ENV of the stages the app image is built from). */
let imageEnv: Record<string, string> = {};

/** COPY <src...> <dest> from the build context (the repository) into the copy. */
function copyFromContext(args: string) {
  const parts = args.split(/\s+/);
  if (parts[0]?.startsWith('--from=')) return; // from another stage: already in place here
  const dest = parts.pop() ?? '';
  for (const source of parts) {
    const target = dest.endsWith('/') ? join(dir, dest, source) : join(dir, dest);
    cpSync(join(projectRoot, source), target, { recursive: true });
  }
}

/** Runs a stage's COPY (from the context), RUN and ENV steps in the copy, in order. */
async function build(name: string) {
  for (const { op, args } of stage(name)) {
    if (op === 'COPY') copyFromContext(args);
    if (op === 'ENV') imageEnv = { ...imageEnv, ...envOf(args) };
    if (op === 'RUN') {
      const result = await startProcess('sh', ['-c', args], {
        cwd: dir,
        env: {},
        timeoutMs: 400_000,
      }).done;
      expect(result.code, `RUN ${args}: ${result.stderr.slice(-2000)}`).toBe(0);
    }
  }
}

/** The exec-form array of the stage's instruction `op` (CMD, or the HEALTHCHECK's CMD). */
function execForm(name: string, op: string): string[] {
  const args = stage(name).find((i) => i.op === op)?.args ?? '';
  return JSON.parse(args.slice(args.indexOf('[')));
}

const mongodump = join(projectRoot, '.tools/bin/mongodump');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'microblog-production-'));
  await build('deps');
  await build('base');
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the production install (the Dockerfile’s steps, no container engine)', () => {
  it('holds the runtime dependencies only: no tsx, no mongodb-memory-server, no test tooling', () => {
    expect(existsSync(join(dir, 'node_modules/express/package.json'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/mongoose/package.json'))).toBe(true);
    for (const dev of ['tsx', 'mongodb-memory-server', 'vitest', 'typescript', 'supertest']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(dir, 'test'))).toBe(false);
  });

  it('without MONGODB_URI, exits 1 with one line saying what to set', async () => {
    const [command = '', ...args] = execForm('app', 'CMD');
    const env = { ...imageEnv, JWT_SECRET: 'p'.repeat(40), PORT: '0', HOST: '127.0.0.1' };

    const result = await startProcess(command, args, { cwd: dir, env, timeoutMs: 60_000 }).done;

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Invalid configuration: MONGODB_URI is required .*set it to/),
    ]);
  });

  it('without MONGODB_URI and NODE_ENV=development, says so in one line too (no local engine here)', async () => {
    const [command = '', ...args] = execForm('app', 'CMD');
    const env = { ...imageEnv, NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1' };

    const result = await startProcess(command, args, { cwd: dir, env, timeoutMs: 60_000 }).done;

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^start-up failed: MONGODB_URI is not set: set it to your MongoDB/),
    ]);
  });

  it('migrates, serves requests, passes its healthcheck, backs up, and stops on SIGTERM with 0', async () => {
    const env = {
      ...imageEnv,
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: testDbName('production'),
      JWT_SECRET: 'p'.repeat(40),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      BACKUP_DIR: join(dir, 'backups'),
      // The image has mongodump on PATH (stage tools); here, the offline build's.
      ...(existsSync(mongodump) ? { MONGODUMP_PATH: mongodump } : {}),
    };
    const run = (argv: string[]) => {
      const [command = '', ...args] = argv;
      return startProcess(command, args, { cwd: dir, env, timeoutMs: 120_000 }).done;
    };

    const migrate = await run(composeCommand(compose, 'migrate'));
    expect(migrate.code, migrate.stderr).toBe(0);

    const [command = '', ...args] = execForm('app', 'CMD');
    const api = startProcess(command, args, { cwd: dir, env, timeoutMs: 180_000 });
    try {
      const port = await api.until(
        () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(api.stdout())?.[1],
        'listening line',
        90_000,
      );
      const base = `http://127.0.0.1:${port}`;
      // JSON logs: stdout is a pipe, as under a container runtime.
      expect(JSON.parse(api.stdout().split('\n')[0] ?? '')).toHaveProperty('level');
      const health = await runHealthcheck(env, port);
      expect(health.code, health.stderr).toBe(0);

      const post = (path: string, body: unknown, token?: string) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      const username = `prod_${Date.now().toString(36)}`;
      const password = 'production passphrase';
      const user = { username, email: `${username}@example.com`, password };
      expect((await post('/api/users', user)).status).toBe(201);
      const login = await post('/api/tokens', { username, password });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      expect((await post('/api/posts', { body: 'from the image' }, token)).status).toBe(201);
      const list = (await (await fetch(`${base}/api/posts`)).json()) as {
        items: Array<{ body: string; author: { username: string } }>;
      };
      expect(list.items).toEqual([
        expect.objectContaining({
          body: 'from the image',
          author: expect.objectContaining({ username }),
        }),
      ]);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);

      // The backup service's command, once (it loops with a sleep in compose).
      const backupCommand = composeCommand(compose, 'backup');
      expect(backupCommand.join(' ')).toContain('node scripts/backup.ts');
      const backup = await run(['node', 'scripts/backup.ts']);
      expect(backup.code, backup.stderr).toBe(0);
    } finally {
      api.child.kill('SIGTERM');
    }
    const stopped = await api.done;
    expect(stopped.code, stopped.stderr).toBe(0);
  });
});

/** The image's HEALTHCHECK command, with the port the API is on. */
function runHealthcheck(env: Record<string, string>, port: string) {
  const [command = '', ...args] = execForm('app', 'HEALTHCHECK');
  return startProcess(command, args, { cwd: dir, env: { ...env, PORT: port }, timeoutMs: 30_000 })
    .done;
}
