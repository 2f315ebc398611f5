// npm run bench:startup -- --uri <mongodb://...>: start-up time, idle RSS and peak RSS under load
// of the API as a process (flags and what is measured: docs/benchmarks.md).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sampleMemory } from './operations.ts';
import { newUserToken } from './seed.ts';

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

/** A user and 20 posts, so that GET /api/posts has a page to answer. */
async function seed() {
  const token = await newUserToken(base, `bench_${Date.now().toString(36)}`);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  for (let i = 0; i < 20; i += 1) {
    const body = JSON.stringify({ body: `post ${i}` });
    await fetch(`${base}/api/posts`, { method: 'POST', headers, body });
  }
}

/** Spawns the command against the database and waits for its first 200 from /healthz. */
async function start(): Promise<{ child: ChildProcess; startupMs: number }> {
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
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before /healthz`);
    const health = await fetch(`${base}/healthz`).catch(() => undefined);
    if (health?.ok) return { child, startupMs: performance.now() - started };
    await sleep(20);
  }
}

async function once(run: number) {
  const { child, startupMs } = await start();
  const pid = child.pid ?? 0;
  try {
    if (run === 0) await seed();
    await sleep(10_000);
    const idle = sampleMemory(pid).stop().treePeakBytes;
    const sampler = sampleMemory(pid);
    const url = `${base}/api/posts?limit=20`;
    const result = await autocannon({ url, connections: 10, duration: 15 });
    const peak = sampler.stop().treePeakBytes;
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(
      [
        values.label,
        `run ${run + 1}`,
        `start-up ${(startupMs / 1000).toFixed(2)} s`,
        `idle RSS ${mb(idle)} MB`,
        `peak RSS under load ${mb(peak)} MB`,
        `${Math.round(result.requests.average)} req/s`,
        `non-2xx ${result.non2xx}`,
        `load average ${load}`,
      ].join(' | '),
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

for (let run = 0; run < Number(values.runs); run += 1) await once(run);
