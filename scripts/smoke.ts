// npm run smoke — starts the API as production does (`node src/main.ts`, on this node), then
// health, register, log in, post, list, a backup, and a graceful stop. CI runs it on the oldest
// supported Node; it works on whatever the environment points at (MONGODB_URI, or the local
// engine). Set PORT to a free port; BACKUP_DIR where the backup may go.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { runScript } from '../src/cli/script.ts';
import { API_NODE_FLAGS } from '../src/process/node-flags.ts';
import { fromProjectRoot } from '../src/process/project-root.ts';
import { ScriptError } from '../src/process/script-error.ts';

const fail = (message: string): never => {
  throw new ScriptError('smoke-failed', message);
};

type Call = (
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; body: Record<string, unknown> }>;

/** A child process whose stderr is kept (its last lines go into a failure's one line). */
function spawnKeepingStderr(script: string, env: NodeJS.ProcessEnv, flags: readonly string[] = []) {
  const child = spawn(process.execPath, [...flags, fromProjectRoot(script)], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const output = { stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output, exited };
}

/** Register, log in, post, and find the post in the list. */
async function exercise(call: Call, out: (line: string) => void): Promise<void> {
  const expectStatus = (step: string, got: { status: number; body: unknown }, want: number) => {
    if (got.status !== want) fail(`${step}: ${got.status} ${JSON.stringify(got.body)}`);
    out(`smoke: ${step} ${got.status}`);
  };
  const username = `smoke_${Date.now().toString(36)}`;
  const password = 'smoke test passphrase';
  const user = { username, email: `${username}@example.com`, password };
  expectStatus('register', await call('POST', '/api/users', user), 201);
  const login = await call('POST', '/api/tokens', { username, password });
  expectStatus('log in', login, 200);
  const token = String(login.body.token);
  const body = `hello from ${process.version}`;
  expectStatus('post', await call('POST', '/api/posts', { body }, token), 201);
  const list = await call('GET', '/api/posts?limit=5');
  expectStatus('list', list, 200);
  const items = list.body.items as Array<{ body: string }> | undefined;
  if (!items?.some((post) => post.body === body)) fail(`list: the new post is missing`);
}

await runScript('smoke', async (ctx) => {
  const config = ctx.config();
  const base = `http://127.0.0.1:${config.port}`;
  const env = { ...process.env, HOST: '127.0.0.1', MIGRATIONS_ON_START: 'apply' };
  const api = spawnKeepingStderr('src/main.ts', env, API_NODE_FLAGS);
  let running = true;
  void api.exited.then(() => {
    running = false;
  });
  ctx.onCleanup(async () => {
    if (running) api.child.kill('SIGKILL');
  });
  const call: Call = async (method, path, body, token) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const deadline = Date.now() + 180_000;
  for (;;) {
    if (!running) {
      fail(`the API exited before answering /healthz: ${api.output.stderr.trim().slice(-400)}`);
    }
    if (Date.now() > deadline) fail('the API did not answer /healthz within 180 s');
    const health = await call('GET', '/healthz').catch(() => undefined);
    if (health?.status === 200) break;
    await sleep(250);
  }
  ctx.out(`smoke: node ${process.version}, API answering at ${base}`);
  await exercise(call, (line) => ctx.out(line));

  const backup = spawnKeepingStderr('scripts/backup.ts', env);
  const [backupCode] = await backup.exited;
  if (backupCode !== 0) {
    fail(`backup exited ${backupCode}: ${backup.output.stderr.trim().split('\n').pop()}`);
  }
  ctx.out('smoke: backup 0');

  api.child.kill('SIGTERM');
  const [code, signal] = await api.exited;
  if (code !== 0) fail(`the API ended with ${code ?? signal} after SIGTERM, not 0`);
  ctx.out('smoke: API stopped cleanly (exit 0)');
});
