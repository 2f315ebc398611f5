// npm run compare:sql [-- --scale 0.005,0.01,0.02 --iterations 30 --out bench/results]: the
// same microblog on the tutorials' relational schema in PostgreSQL and on this project's
// documents, operation by operation (docs/sql-vs-documents.md, "Measured"). Not part of the API.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runScript, type ScriptContext } from '../../src/cli/script.ts';
import { connectDatabase } from '../../src/models.ts';
import { fromProjectRoot } from '../../src/process/project-root.ts';
import { ScriptError, UsageError } from '../../src/process/script-error.ts';
import { latencyChart } from './chart.ts';
import { compareAnswers, measure, prepareSides } from './comparison.ts';
import { type PostgresServer, startPostgres } from './postgres-server.ts';
import { type CompareResult, renderReport, type ScaleResult } from './report.ts';
import { measureStorage } from './storage.ts';

const log = (m: string) => process.stderr.write(`[compare] ${m}\n`);

function parseOptions() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '0.005,0.01,0.02' },
      iterations: { type: 'string', default: '30' },
      out: { type: 'string', default: 'bench/results' },
    },
    strict: true,
  });
  const scales = values.scale.split(',').map(Number);
  if (scales.some((s) => !(s > 0 && s <= 1)))
    throw new UsageError('--scale must be numbers in (0, 1], separated by commas');
  const iterations = Number(values.iterations);
  if (!(Number.isInteger(iterations) && iterations >= 1 && iterations <= 10_000))
    throw new UsageError('--iterations must be a whole number from 1 to 10000');
  return { scales, iterations, out: fromProjectRoot(values.out) };
}

/** One scale: a fresh database on each side, the dataset, the answers compared, the figures. */
async function runScale(
  ctx: ScriptContext,
  server: PostgresServer,
  uri: string,
  scale: number,
  iterations: number,
): Promise<{ result: ScaleResult; engine: string }> {
  const name = `compare_${Date.now()}`;
  const admin = await server.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const client = await server.connect(name);
  ctx.onCleanup(() => client.end());
  const db = await connectDatabase(uri, { dbName: name, autoIndex: true, monitorCommands: true });
  ctx.onCleanup(async () => {
    await db.connection.dropDatabase();
    await db.close();
  });
  const sides = await prepareSides(db, client, scale, log);
  const storage = await measureStorage(client, db, sides.data);
  ctx.signal.throwIfAborted();
  const mismatches = await compareAnswers(sides);
  if (mismatches.length > 0) {
    const names = mismatches.map((m) => m.operation).join(', ');
    throw new ScriptError('answers-differ', `the two sides answer differently: ${names}`);
  }
  log(`scale ${scale}: every operation answers the same both ways; timing ${iterations} runs`);
  const loadBefore = loadavg();
  const operations = await measure(sides, client, iterations, ctx.signal);
  const { users, posts, follows } = sides.data;
  const result = {
    scale,
    users,
    posts,
    follows,
    loadBefore,
    loadAfter: loadavg(),
    operations,
    storage,
  };
  return { result, engine: `${db.capabilities.engine} ${db.capabilities.engineVersion}` };
}

await runScript(
  'compare:sql',
  async (ctx) => {
    const options = parseOptions();
    const server = await startPostgres(log);
    ctx.onCleanup(() => server.stop());
    const uri = await ctx.serverUri();
    const scales: ScaleResult[] = [];
    let engine = '';
    for (const scale of options.scales) {
      ctx.signal.throwIfAborted();
      const run = await runScale(ctx, server, uri, scale, options.iterations);
      scales.push(run.result);
      engine = run.engine;
    }
    const cpu = cpus();
    const result: CompareResult = {
      date: new Date().toISOString(),
      machine: `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared`,
      engines: {
        sql: server.version,
        doc: `${engine}${process.env.MONGODB_URI ? '' : ' (local engine)'}`,
      },
      iterations: options.iterations,
      scales,
    };
    const report = renderReport(result);
    const base = join(
      options.out,
      `sql-vs-documents-${result.date.replace(/\D/g, '').slice(0, 14)}`,
    );
    mkdirSync(options.out, { recursive: true });
    writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${base}.md`, report);
    writeFileSync(
      `${base}.svg`,
      latencyChart(result, `${result.engines.sql}; ${result.engines.doc}`),
    );
    ctx.out(report);
    log(`wrote ${base}.json, .md and .svg`);
  },
  { interruptible: true },
);
