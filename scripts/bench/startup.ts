// npm run bench:startup -- --uri mongodb://127.0.0.1:27117/ [--runs 3] [--cwd DIR] [-- command...]
// Start-up time, idle RSS and peak RSS under load of the API as a process, for docs/benchmarks.md:
// the time from spawn to the first 200 from /healthz (database already running), the resident
// memory of the process and its children after 10 s idle, and the highest resident memory of
// that tree while autocannon sends GET /api/posts for 15 s over 10 connections. `--cwd` and the
// command let the same measurement run on another checkout (default: `node src/main.ts` here).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values, positionals } = parseArgs({
  options: {
    uri: { type: 'string' },
    db: { type: 'string', default: 'bench_startup' },
    runs: { type: 'string', default: '3' },
    cwd: { type: 'string', default: process.cwd() },
    port: { type: 'string', default: '3210' },
    label: { type: 'string', default: 'node src/main.ts' },
  },
  allowPositionals: true,
});
if (!values.uri) {
  console.error('bench:startup: --uri <mongodb://...> is required (a running database)');
  process.exit(2);
}
const command = positionals.length > 0 ? positionals : [process.execPath, 'src/main.ts'];
const base = `http://127.0.0.1:${values.port}`;

/** Resident memory (kB) of a process and every descendant. */
function treeRssKb(root: number): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of tree) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

async function seed() {
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  const username = `bench_${Date.now().toString(36)}`;
  const password = 'bench passphrase';
  await post('/api/users', { username, email: `${username}@example.com`, password });
  const login = (await (await post('/api/tokens', { username, password })).json()) as {
    token: string;
  };
  for (let i = 0; i < 20; i += 1) await post('/api/posts', { body: `post ${i}` }, login.token);
}

async function once(run: number) {
  const [file = '', ...args] = command;
  const started = performance.now();
  const child = spawn(file, args, {
    cwd: values.cwd,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      MONGODB_URI: values.uri,
      MONGODB_DB: values.db,
      JWT_SECRET: 'b'.repeat(40),
      HOST: '127.0.0.1',
      PORT: values.port,
      LOG_LEVEL: 'warn',
      MIGRATIONS_ON_START: 'warn',
      RATE_LIMIT_MAX: '1000000',
      LOGIN_RATE_LIMIT_PER_ADDRESS: '100000',
    },
  });
  const pid = child.pid ?? 0;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before /healthz`);
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(20);
    }
    const startupMs = performance.now() - started;
    if (run === 0) await seed();
    await sleep(10_000);
    const idleKb = treeRssKb(pid);
    let peakKb = idleKb;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, treeRssKb(pid));
    }, 100);
    const result = await autocannon({
      url: `${base}/api/posts?limit=20`,
      connections: 10,
      duration: 15,
    });
    clearInterval(sampler);
    const mb = (kb: number) => (kb / 1024).toFixed(0);
    console.log(
      [
        values.label,
        `run ${run + 1}`,
        `start-up ${(startupMs / 1000).toFixed(2)} s`,
        `idle RSS ${mb(idleKb)} MB`,
        `peak RSS under load ${mb(peakKb)} MB`,
        `${Math.round(result.requests.average)} req/s`,
        `non-2xx ${result.non2xx}`,
        `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      ].join(' | '),
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

for (let run = 0; run < Number(values.runs); run += 1) await once(run);
