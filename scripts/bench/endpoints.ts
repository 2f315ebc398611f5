import type { RequestListener } from 'node:http';
import type { MongoClient } from 'mongodb';
import { assertSameJson, type CommandCount, countCommands, type Probe } from './commands.ts';
import { type LoadResult, measure } from './load.ts';
import type { Dataset } from './seed.ts';
import type { EndpointResult } from './targets.ts';

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
  listeners: { api: RequestListener; baseline: RequestListener },
  work: Workload[],
): Promise<{ api: Counts; baseline: Counts }> {
  const reads = work.filter((w) => !w.write).map(asProbe);
  const api = await countCommands(client, dbName, listeners.api, reads);
  const baseline = await countCommands(client, dbName, listeners.baseline, reads);
  for (const p of reads) assertSameJson(api.get(p.name)?.json, baseline.get(p.name)?.json, p.name);
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

/** Throughput of each workload on the API, and of each read on the baseline, one after the other. */
export async function measureEndpoints(
  work: Workload[],
  urls: { api: string; baseline: string },
  counts: { api: Counts; baseline: Counts },
  load: { connections: number; warmup: number; duration: number },
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
    const api = checked(await measure({ ...spec, url: urls.api }, load), `${w.name} (API)`);
    const baseline = w.write
      ? undefined
      : checked(await measure({ ...spec, url: urls.baseline }, load), `${w.name} (baseline)`);
    const apiCounts = counts.api.get(w.name);
    results.push({
      name: w.name,
      list: w.list,
      api,
      baseline,
      ratio: baseline ? api.rps / baseline.rps : undefined,
      apiCommands: apiCounts?.commands ?? [],
      apiFirstCommands: apiCounts?.firstCommands ?? [],
      tokenCheck: apiCounts?.tokenCheck ?? 0,
      baselineCommands: counts.baseline.get(w.name)?.commands,
    });
    log(
      `${w.name}: ${api.rps.toFixed(1)} req/s${baseline ? `, baseline ${baseline.rps.toFixed(1)}` : ''}`,
    );
  }
  return results;
}
