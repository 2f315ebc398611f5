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

await runScript('smoke', async (ctx) => {
  const config = ctx.config();
  const base = `http://127.0.0.1:${config.port}`;
  const env = { ...process.env, HOST: '127.0.0.1', MIGRATIONS_ON_START: 'apply' };
  const api = spawn(process.execPath, [...API_NODE_FLAGS, fromProjectRoot('src/main.ts')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  api.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(api, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let running = true;
  void exited.then(() => {
    running = false;
  });
  ctx.onCleanup(async () => {
    if (running) api.kill('SIGKILL');
  });

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
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
  const expectStatus = (step: string, got: { status: number; body: unknown }, want: number) => {
    if (got.status !== want) fail(`${step}: ${got.status} ${JSON.stringify(got.body)}`);
    ctx.out(`smoke: ${step} ${got.status}`);
  };

  const deadline = Date.now() + 180_000;
  for (;;) {
    if (!running) fail(`the API exited before answering /healthz: ${stderr.trim().slice(-400)}`);
    if (Date.now() > deadline) fail('the API did not answer /healthz within 180 s');
    const health = await call('GET', '/healthz').catch(() => undefined);
    if (health?.status === 200) break;
    await sleep(250);
  }
  ctx.out(`smoke: node ${process.version}, API answering at ${base}`);

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

  const backup = spawn(process.execPath, [fromProjectRoot('scripts/backup.ts')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let backupErr = '';
  backup.stderr.on('data', (chunk: Buffer) => {
    backupErr += chunk.toString();
  });
  const [backupCode] = await once(backup, 'exit');
  if (backupCode !== 0) fail(`backup exited ${backupCode}: ${backupErr.trim().split('\n').pop()}`);
  ctx.out('smoke: backup 0');

  api.kill('SIGTERM');
  const [code, signal] = await exited;
  if (code !== 0) fail(`the API ended with ${code ?? signal} after SIGTERM, not 0`);
  ctx.out('smoke: API stopped cleanly (exit 0)');
});
