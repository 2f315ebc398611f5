// npm run bench:contention: posts to one hot tag, then to many, through the real API in this
// process; tag counts checked before and after a reconciler pass (flags: docs/benchmarks.md).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { trusted } from 'mongoose';
import { createApp } from '../../src/app.ts';
import { runScript, type ScriptContext } from '../../src/cli/script.ts';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/connection.ts';
import { createLogger } from '../../src/logger.ts';
import { counterStateOf } from '../../src/tags/counters.ts';
import { startTagReconciler } from '../../src/tags/reconciler.ts';
import { parseFlags } from './options.ts';
import { newUserToken, openScratchDatabase } from './seed.ts';

function parse(argv: string[]) {
  const usage = 'usage: bench:contention [--connections N] [--seconds S] [--spread TAGS] [--check]';
  const flags = parseFlags(argv, 'connections seconds spread', 'check', usage);
  return {
    connections: flags.number('connections', 50, 10_000),
    seconds: flags.number('seconds', 10, 3600),
    spread: flags.number('spread', 100, 100_000),
    check: flags.values.check === true,
  };
}

/** The real API, its tag reconciler included, on a fresh database, served in this process. */
async function startApi(onCleanup: ScriptContext['onCleanup']) {
  const { db } = await openScratchDatabase('bench_contention', onCleanup, {});
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_MAX: '1000000',
    MAX_IN_FLIGHT_PER_CLIENT: '10000',
    MAX_IN_FLIGHT: '100000',
    MAX_EVENT_LOOP_LAG_MS: '0',
  });
  const logger = createLogger('silent');
  const intervalMs = config.tags.reconcileIntervalMs;
  const reconciler = startTagReconciler({ db, logger, intervalMs, fullCheckIntervalMs: 0 });
  onCleanup(() => reconciler.stop());
  const server = createApp({ config, db, logger }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  onCleanup(() => new Promise((resolve) => server.close(() => resolve())));
  return { db, reconciler, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Until the requests autocannon abandoned are served: no counter move, no new post for 2 s. */
async function settle(db: Database): Promise<void> {
  const settleBy = Date.now() + 120_000;
  let seen = -1;
  for (;;) {
    const now = await db.Post.estimatedDocumentCount();
    if ((now === seen && counterStateOf(db).underWay.size === 0) || Date.now() > settleBy) return;
    seen = now;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Tags whose stored postCount differs from their posts, and the most any is off by. */
async function drift(db: Database, names: string[]) {
  let off = 0;
  let maxOff = 0;
  for (const name of names) {
    const actual = await db.Post.countDocuments({ tags: name });
    const stored = (await db.Tag.findOne({ name }).lean())?.postCount ?? 0;
    if (actual !== stored) off += 1;
    if (actual !== stored && process.env.BENCH_DEBUG) console.error(name, { actual, stored });
    maxOff = Math.max(maxOff, Math.abs(actual - stored));
  }
  return { off, maxOff };
}

/** One phase: posts for `seconds` to one tag (`hot`) or spread over many, then counts checked. */
async function runPhase(
  api: Awaited<ReturnType<typeof startApi>>,
  token: string,
  prefix: 'hot' | 'spread',
  options: ReturnType<typeof parse>,
) {
  let next = 0;
  const body = () => {
    next += 1;
    const tag = prefix === 'hot' ? 'hot' : `spread${next % options.spread}`;
    return JSON.stringify({ body: 'contention', tags: [tag] });
  };
  const result = await autocannon({
    url: `${api.url}/api/posts`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    connections: options.connections,
    duration: options.seconds,
    timeout: 120,
    requests: [{ setupRequest: (request) => ({ ...request, body: body() }) }],
  });
  await settle(api.db);
  const ours = { tags: trusted({ $regex: `^${prefix}` }) };
  const names = (await api.db.Post.distinct('tags', ours)).map(String);
  const before = await drift(api.db, names);
  await api.reconciler.runOnce({ full: true });
  const after = await drift(api.db, names);
  return {
    phase: prefix === 'hot' ? 'one tag' : `${options.spread} tags`,
    posts: await api.db.Post.countDocuments(ours),
    postsPerSecond: result['2xx'] / result.duration,
    errors: result.errors + result.non2xx + result.timeouts,
    tags: names.length,
    before,
    after,
  };
}

await runScript('bench:contention', async (ctx) => {
  const options = parse(process.argv.slice(2));
  const api = await startApi(ctx.onCleanup);
  const token = await newUserToken(api.url, `bench_${randomBytes(3).toString('hex')}`);
  const phases = [
    await runPhase(api, token, 'hot', options),
    await runPhase(api, token, 'spread', options),
  ];
  const load = loadavg().map((n) => n.toFixed(2));
  const { engine, engineVersion } = api.db.capabilities;
  ctx.out(
    `engine ${engine} ${engineVersion}, ${options.connections} connections, ${options.seconds} s per phase, load average ${load.join(', ')}`,
  );
  ctx.out(
    '| phase | posts | posts/s | errors | tags | tags off before reconciliation (most off by) | tags off after |',
  );
  ctx.out('| --- | --- | --- | --- | --- | --- | --- |');
  for (const p of phases) {
    ctx.out(
      `| ${p.phase} | ${p.posts} | ${p.postsPerSecond.toFixed(1)} | ${p.errors} | ${p.tags} | ${p.before.off} (${p.before.maxOff}) | ${p.after.off} |`,
    );
  }
  const failed = phases.filter((p) => p.errors > 0 || p.after.off > 0);
  if (!options.check || failed.length === 0) return 0;
  const why = failed.map((p) => `${p.phase}: ${p.errors} error(s), ${p.after.off} tag(s) off`);
  process.stderr.write(`bench:contention --check: ${why.join('; ')}\n`);
  return 1;
});
