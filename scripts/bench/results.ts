import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { OdmResult } from './odm.ts';
import type { BackupResult, MigrationResult } from './operations.ts';
import type { BenchOptions } from './options.ts';
import { type Compression, type Environment, renderReport } from './report.ts';
import type { Dataset } from './seed.ts';
import type { EndpointResult, Target } from './targets.ts';

/** What gzip would cost and save on a page of 20 posts (the app does not compress; see docs). */
export function measureCompression(page: unknown): Compression {
  const json = JSON.stringify(page);
  let gzipBytes = 0;
  const times: number[] = [];
  for (let i = 0; i < 201; i += 1) {
    const start = performance.now();
    gzipBytes = gzipSync(json).length;
    times.push(performance.now() - start);
  }
  // The median: a shared machine interrupts some calls, and those say nothing about gzip.
  const median = times.sort((a, b) => a - b)[100] ?? 0;
  return { jsonBytes: Buffer.byteLength(json), gzipBytes, microsecondsPerResponse: median * 1000 };
}

/**
 * Writes bench/results/<timestamp>.json (everything) and .md (the report), and returns the
 * report for stdout.
 */
export function writeResults(
  root: string,
  r: {
    engine: string;
    options: BenchOptions & { scale: number };
    data: Dataset;
    endpoints: EndpointResult[];
    compression?: Compression;
    odm?: OdmResult[];
    migration?: MigrationResult;
    backup?: BackupResult;
    targets: Target[];
  },
): { report: string; files: string } {
  const cpu = cpus();
  const { options: o, data: d } = r;
  const environment: Environment = {
    date: new Date().toISOString(),
    cpu: cpu[0]?.model.trim() ?? 'unknown CPU',
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    os: `${type()} ${release()}`,
    node: process.versions.node,
    engine: r.engine,
    dataset:
      `scale ${o.scale}: ${d.users} users, ${d.posts} posts, ${d.follows} follows, ${d.tags} tags; ` +
      `the feed's reader follows ${d.feedFollowees}`,
    load:
      `autocannon, ${o.connections} connections; each server first gets ${o.warmupRequests} ` +
      `requests per read endpoint (at most 30 s), then ${o.warmup} s warm-up + ${o.duration} s per ` +
      `run${o.rounds > 1 ? `, ${o.rounds} rounds taking turns` : ''}; the load generator, the ` +
      'servers and the database share the machine',
  };
  const report = renderReport({ environment, ...r });
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = environment.date.replace(/[:.]/g, '-');
  const { userIds: _u, samplePostIds: _p, ...dataset } = d;
  const { data: _d, ...measured } = r;
  const everything = { environment, dataset, ...measured, options: { ...o, only: [...o.only] } };
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(everything, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), report);
  return { report, files: `bench/results/${stamp}.{json,md}` };
}
