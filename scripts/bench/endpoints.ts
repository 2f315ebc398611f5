import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import type { MongoClient } from 'mongodb';
import { assertSameJson, type CommandCount, countCommands, type Probe } from './commands.ts';
import { type LoadResult, measure, warmUp } from './load.ts';
import type { ServerProcess } from './processes.ts';
import { summarizeProfile } from './profile.ts';
import type { Dataset } from './seed.ts';
import type { EndpointResult } from './targets.ts';
import type { ProcessUsage } from './usage.ts';

export interface Workload {
  name: string;
  list: boolean;
  write?: boolean;
  /** Requested in turn, so that reads do not all hit one document. */
  paths: string[];
  headers: Record<string, string>;
  body?: string;
}

/** What each endpoint is asked: the reads also go to the baseline; the write only to the API. */
export function workloads(data: Dataset, feedToken: string, posterToken: string): Workload[] {
  const authors = data.userIds.slice(0, 20).map((id) => `/api/users/${id}/posts?limit=20`);
  return [
    { name: 'GET /api/posts', list: true, paths: ['/api/posts?limit=20'], headers: {} },
    { name: 'GET /api/users/:id/posts', list: true, paths: authors, headers: {} },
    {
      name: 'GET /api/feed',
      list: true,
      paths: ['/api/feed?limit=20'],
      headers: { authorization: `Bearer ${feedToken}` },
    },
    {
      name: 'GET /api/posts/:id',
      list: false,
      paths: data.samplePostIds.map((id) => `/api/posts/${id}`),
      headers: {},
    },
    {
      name: 'POST /api/posts',
      list: false,
      write: true,
      paths: ['/api/posts'],
      headers: { authorization: `Bearer ${posterToken}` },
      body: JSON.stringify({ body: 'a benchmark post', tags: ['bench'] }),
    },
  ];
}

const asProbe = (w: Workload): Probe => ({
  name: w.name,
  path: w.paths[0] as string,
  method: w.write ? 'POST' : 'GET',
  headers: w.headers,
  body: w.body,
});

export type Counts = Map<string, CommandCount & { firstCommands: string[] }>;

/**
 * Commands per request of the API and the baseline, served in this process on a monitored
 * client. The baseline must answer every read with the API's JSON, or it measures other work.
 */
export async function countReads(
  client: MongoClient,
  dbName: string,
  listeners: { api: RequestListener; baseline: RequestListener; floor?: RequestListener },
  work: Workload[],
): Promise<{ api: Counts; baseline: Counts }> {
  const reads = work.filter((w) => !w.write).map(asProbe);
  const api = await countCommands(client, dbName, listeners.api, reads);
  const baseline = await countCommands(client, dbName, listeners.baseline, reads);
  for (const p of reads) assertSameJson(api.get(p.name)?.json, baseline.get(p.name)?.json, p.name);
  if (listeners.floor) {
    const floor = await countCommands(client, dbName, listeners.floor, reads);
    for (const p of reads) {
      assertSameJson(api.get(p.name)?.json, floor.get(p.name)?.json, `${p.name} (Express alone)`);
    }
  }
  return { api, baseline };
}

export async function countWrite(
  client: MongoClient,
  dbName: string,
  api: RequestListener,
  write: Workload,
): Promise<Counts> {
  return countCommands(client, dbName, api, [asProbe(write)]);
}

function checked(r: LoadResult, label: string): LoadResult {
  if (r.errors || r.non2xx) throw new Error(`${label}: ${r.errors + r.non2xx} failed requests`);
  return r;
}

/** Several runs of one side as one: medians of throughput and latency, totals of what it spent. */
function combine(runs: LoadResult[]): LoadResult {
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  };
  const byRps = [...runs].sort((a, b) => a.rps - b.rps);
  const middle = byRps[Math.floor((byRps.length - 1) / 2)] as LoadResult;
  const usages = runs.map((r) => r.usage).filter((u): u is ProcessUsage => u !== undefined);
  let usage: ProcessUsage | undefined;
  if (usages.length === runs.length && usages.length > 0) {
    const sum = (f: (u: ProcessUsage) => number) => usages.reduce((a, u) => a + f(u), 0);
    const requests = sum((u) => u.requests);
    const seconds = sum((u) => u.seconds);
    usage = {
      requests,
      cpuMicros: sum((u) => u.cpuMicros),
      userMicros: sum((u) => u.userMicros),
      systemMicros: sum((u) => u.systemMicros),
      cpuMicrosPerRequest: requests > 0 ? sum((u) => u.cpuMicros) / requests : 0,
      eventLoopUtilization: sum((u) => u.eventLoopUtilization * u.seconds) / (seconds || 1),
      maxRssBytes: Math.max(...usages.map((u) => u.maxRssBytes)),
      seconds,
    };
  }
  return {
    ...middle,
    requests: runs.reduce((a, r) => a + r.requests, 0),
    seconds: runs.reduce((a, r) => a + r.seconds, 0),
    rps: median(runs.map((r) => r.rps)),
    usage,
  };
}

export interface MeasureOptions {
  connections: number;
  warmup: number;
  duration: number;
  /** API and baseline (and Express alone) take turns this many times per endpoint. */
  rounds: number;
  /** Requests each server gets on each endpoint before its first measured run (load.ts warmUp). */
  warmupRequests: number;
  /** Folder for one CPU profile per endpoint and process, from an extra run after the measured ones. */
  profileDir?: string;
}

const fileName = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * Throughput of each workload on the API, and of each read on the baseline, with what each
 * server process spent per request. The two take turns (API first in odd rounds, baseline
 * first in even ones), so that load elsewhere on the machine falls on both alike.
 */
export async function measureEndpoints(
  work: Workload[],
  servers: { api: ServerProcess; baseline: ServerProcess; floor?: ServerProcess },
  counts: { api: Counts; baseline: Counts },
  load: MeasureOptions,
  log: (m: string) => void,
): Promise<EndpointResult[]> {
  const results: EndpointResult[] = [];
  for (const w of work) {
    const spec = {
      paths: w.paths,
      headers: w.headers,
      body: w.body,
      method: w.write ? 'POST' : 'GET',
    } as const;
    type Side = 'api' | 'baseline' | 'floor';
    let sides: Side[] = w.write ? ['api'] : ['api', 'baseline'];
    if (!w.write && servers.floor) sides = [...sides, 'floor'];
    const runs: Record<Side, LoadResult[]> = { api: [], baseline: [], floor: [] };
    // Not the write: its warm-up would add thousands of posts, which the migration measured
    // after it would then have to transform (quadratic on FerretDB).
    for (const side of w.write ? [] : sides) {
      const server = servers[side] as ServerProcess;
      await warmUp(
        { ...spec, url: server.url },
        { connections: load.connections, requests: load.warmupRequests, maxSeconds: 30 },
      );
    }
    for (let round = 0; round < load.rounds; round += 1) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const server = servers[side] as ServerProcess;
        const window = { start: () => server.startWindow(), stop: () => server.stopWindow() };
        const r = await measure({ ...spec, url: server.url }, load, window);
        runs[side].push(checked(r, `${w.name} (${side})`));
      }
    }
    const profiles: EndpointResult['profiles'] = {};
    if (load.profileDir) {
      for (const side of ['api', 'baseline', 'floor'] as const) {
        const server = servers[side];
        if (!sides.includes(side) || !server) continue;
        const file = join(load.profileDir, `${fileName(w.name)}.${side}.cpuprofile`);
        const window = { start: () => server.startWindow(file), stop: () => server.stopWindow() };
        const r = await measure({ ...spec, url: server.url }, { ...load, warmup: 0 }, window);
        const usage = checked(r, `${w.name} (${side}, profiled)`).usage as ProcessUsage;
        profiles[side] = { usage, costs: summarizeProfile(file, usage.cpuMicrosPerRequest) };
      }
    }
    const api = combine(runs.api);
    const baseline = w.write ? undefined : combine(runs.baseline);
    const floor = runs.floor.length > 0 ? combine(runs.floor) : undefined;
    const apiCounts = counts.api.get(w.name);
    const apiCpu = api.usage?.cpuMicrosPerRequest;
    const baseCpu = baseline?.usage?.cpuMicrosPerRequest;
    results.push({
      name: w.name,
      list: w.list,
      api,
      baseline,
      floor,
      ratio: baseline ? api.rps / baseline.rps : undefined,
      cpuRatio: apiCpu !== undefined && baseCpu ? apiCpu / baseCpu : undefined,
      rounds: { api: runs.api.map((r) => r.rps), baseline: runs.baseline.map((r) => r.rps) },
      profiles,
      apiCommands: apiCounts?.commands ?? [],
      apiFirstCommands: apiCounts?.firstCommands ?? [],
      tokenCheck: apiCounts?.tokenCheck ?? 0,
      baselineCommands: counts.baseline.get(w.name)?.commands,
    });
    const cpu = (u?: ProcessUsage) => (u ? `, ${u.cpuMicrosPerRequest.toFixed(0)} µs CPU/req` : '');
    log(
      `${w.name}: ${api.rps.toFixed(1)} req/s${cpu(api.usage)}` +
        (baseline ? `; baseline ${baseline.rps.toFixed(1)} req/s${cpu(baseline.usage)}` : '') +
        (floor ? `; Express alone ${floor.rps.toFixed(1)} req/s${cpu(floor.usage)}` : ''),
    );
  }
  return results;
}
