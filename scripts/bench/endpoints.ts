import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import type { Document, MongoClient } from 'mongodb';
import type { BenchOptions } from './options.ts';
import { type CostShare, summarizeProfile } from './profile.ts';
import type { Dataset } from './seed.ts';
import type { ProcessUsage, ServerProcess } from './serve.ts';

/** What an endpoint is asked: the reads also go to the baseline; the write only to the API. */
export interface Workload {
  name: string;
  list: boolean;
  write?: boolean;
  /** Requested in turn, so that reads do not all hit one document. */
  paths: string[];
  headers: Record<string, string>;
  body?: string;
}

export function workloads(data: Dataset, feedToken: string, posterToken: string): Workload[] {
  const authors = data.userIds.slice(0, 20).map((id) => `/api/users/${id}/posts?limit=20`);
  const posts = data.samplePostIds.map((id) => `/api/posts/${id}`);
  const feed = { paths: ['/api/feed?limit=20'], headers: { authorization: `Bearer ${feedToken}` } };
  const body = JSON.stringify({ body: 'a benchmark post', tags: ['bench'] });
  const post = { paths: ['/api/posts'], headers: { authorization: `Bearer ${posterToken}` }, body };
  return [
    { name: 'GET /api/posts', list: true, paths: ['/api/posts?limit=20'], headers: {} },
    { name: 'GET /api/users/:id/posts', list: true, paths: authors, headers: {} },
    { name: 'GET /api/feed', list: true, ...feed },
    { name: 'GET /api/posts/:id', list: false, paths: posts, headers: {} },
    { name: 'POST /api/posts', list: false, write: true, ...post },
  ];
}

// --- Results

export type Side = 'api' | 'baseline' | 'floor';

export interface LoadResult {
  /** Completed requests per second over the measured run. */
  rps: number;
  latencyMs: { p50: number; p99: number };
  usage: ProcessUsage;
}

export interface EndpointResult {
  name: string;
  list: boolean;
  api: LoadResult;
  baseline?: LoadResult;
  floor?: LoadResult;
  /** The profiled extra run of each side, with --profile. */
  profiles: Partial<Record<Side, { usage: ProcessUsage; costs: CostShare[] }>>;
  commands: CommandCount;
}

// --- Commands per request ---------------------------------------------------------------------

/** Commands of one request, as "command collection". */
export interface CommandCount {
  /** The API's, in steady state. */
  api: string[];
  /** The API's on the first request of a minute (the lastSeen write of authenticated ones). */
  apiFirst: string[];
  /** Of `api`, the token check of an authenticated request (a find of the user by _id). */
  tokenCheck: number;
  baseline?: string[];
}

/** Per workload, its commands and the API's answer. */
export type Counts = Map<string, { commands: CommandCount; json: unknown }>;
type CommandEvent = { commandName: string; command: Document; databaseName: string };

const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

/** Runs `run`, recording the commands the client sends to `dbName` meanwhile (but housekeeping). */
export async function recordCommands<T>(
  client: MongoClient,
  dbName: string,
  run: () => Promise<T>,
) {
  const events: CommandEvent[] = [];
  const listener = (event: CommandEvent) => {
    if (!HOUSEKEEPING.has(event.commandName) && event.databaseName === dbName) events.push(event);
  };
  client.on('commandStarted', listener);
  try {
    return { result: await run(), events };
  } finally {
    client.off('commandStarted', listener);
  }
}

export function commandLabel(event: { commandName: string; command: Document }): string {
  const collection = event.command[event.commandName];
  return typeof collection === 'string' ? `${event.commandName} ${collection}` : event.commandName;
}

/** A read of users with tokenVersion: authenticate()'s own, or the feed's read of its authors. */
function isTokenCheck(event: { commandName: string; command: Document }): boolean {
  const projection = event.command.projection ?? {};
  const fields = projection instanceof Map ? [...projection.keys()] : Object.keys(projection);
  return event.command.find === 'users' && fields.includes('tokenVersion');
}

/** The method, headers and body of a workload's requests. */
function requestInit(w: Workload) {
  const headers: Record<string, string> = { ...w.headers };
  if (w.body) headers['content-type'] = 'application/json';
  return { method: w.write ? ('POST' as const) : ('GET' as const), headers, body: w.body };
}

type Counted = { first: CommandEvent[]; seen: CommandEvent[]; json: unknown };

/** Serves `listener` here and sends each workload's first request twice: the second is counted. */
async function countCommands(
  client: MongoClient,
  dbName: string,
  listener: RequestListener,
  work: Workload[],
): Promise<Map<string, Counted>> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const counted = new Map<string, Counted>();
  try {
    for (const w of work) {
      const send = async () => {
        const sent = () => fetch(`${url}${w.paths[0]}`, requestInit(w));
        const { result: res, events } = await recordCommands(client, dbName, sent);
        const json = await res.json();
        if (res.status >= 300)
          throw new Error(`${w.name} answered ${res.status}: ${JSON.stringify(json)}`);
        return { json, events };
      };
      const first = await send();
      const { json, events } = await send();
      counted.set(w.name, { first: first.events, seen: events, json });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return counted;
}

/**
 * Commands per request of the API and the baseline, each of which (and Express alone) must
 * answer every read with the API's JSON, or it measures other work.
 */
export async function countReads(
  client: MongoClient,
  dbName: string,
  listeners: { api: RequestListener; baseline?: RequestListener; floor?: RequestListener },
  work: Workload[],
): Promise<Counts> {
  const count = (listener?: RequestListener) =>
    listener && countCommands(client, dbName, listener, work);
  const [api, baseline, floor] = [
    (await count(listeners.api)) as Map<string, Counted>,
    await count(listeners.baseline),
    await count(listeners.floor),
  ];
  const counts: Counts = new Map();
  for (const { name } of work) {
    const { first, seen, json } = api.get(name) as Counted;
    for (const [label, other] of Object.entries({ baseline, 'Express alone': floor })) {
      if (other && !isDeepStrictEqual(other.get(name)?.json, json))
        throw new Error(`the ${label} answer to ${name} differs from the API's`);
    }
    const commands = {
      api: seen.map(commandLabel),
      apiFirst: first.map(commandLabel),
      tokenCheck: seen.filter(isTokenCheck).length,
      baseline: baseline?.get(name)?.seen.map(commandLabel),
    };
    counts.set(name, { commands, json });
  }
  return counts;
}

// --- Under load -------------------------------------------------------------------------------

/** The load options, and a folder for one CPU profile per endpoint and process with --profile. */
export type MeasureOptions = BenchOptions & { profileDir?: string };

export type Servers = { api: ServerProcess; baseline: ServerProcess; floor?: ServerProcess };

// Far above any healthy answer; on a slow engine a full collection scan can take seconds.
const TIMEOUT_SECONDS = 120;

type RunLength = { duration: number } | { amount: number };

/**
 * `duration` seconds of load, or exactly `amount` requests; then one request answered after
 * those the run abandoned, which keeps their backlog out of the next run.
 */
async function run(w: Workload, url: string, connections: number, length: RunLength) {
  let next = 0;
  const setupRequest = (request: object) => {
    next += 1;
    return { ...request, path: w.paths[(next - 1) % w.paths.length] as string };
  };
  const result = await autocannon({
    url,
    connections,
    ...length,
    timeout: TIMEOUT_SECONDS,
    ...requestInit(w),
    requests: [{ setupRequest }],
  });
  await (await fetch(`${url}${w.paths[0]}`, requestInit(w))).arrayBuffer();
  return result;
}

/**
 * At least `requests` requests before a server's first measured run on an endpoint (V8 keeps
 * compiling hot code for thousands), or at most 30 s of load, from the rate of a 2-second probe.
 */
async function warmUp(w: Workload, url: string, connections: number, requests: number) {
  if (requests <= 0) return;
  const probe = await run(w, url, connections, { duration: 2 });
  const rate = probe.requests.total / Math.max(probe.duration, 1);
  const left = Math.min(requests - probe.requests.total, Math.ceil(rate * 30));
  if (left > 0) await run(w, url, connections, { amount: left });
}

/**
 * `warmup` seconds of discarded load, then `duration` seconds measured; the server's own usage
 * window closes once the requests abandoned at the end were answered too.
 */
async function measure(
  w: Workload,
  server: ServerProcess,
  options: { connections: number; warmup: number; duration: number },
  label: string,
  profile?: string,
): Promise<LoadResult> {
  if (options.warmup > 0)
    await run(w, server.url, options.connections, { duration: options.warmup });
  await server.startWindow(profile);
  const result = await run(w, server.url, options.connections, { duration: options.duration });
  const usage = await server.stopWindow();
  if (result.errors || result.non2xx) {
    throw new Error(`${label}: ${result.errors + result.non2xx} failed requests`);
  }
  const { p50, p99 } = result.latency;
  return { rps: result.requests.total / result.duration, latencyMs: { p50, p99 }, usage };
}

/** Several runs of one side as one: medians of throughput and latency, totals of what it spent. */
function combine(runs: LoadResult[]): LoadResult {
  const middle = [...runs].sort((a, b) => a.rps - b.rps)[(runs.length - 1) >> 1] as LoadResult;
  const sum = (f: (u: ProcessUsage) => number) => runs.reduce((total, r) => total + f(r.usage), 0);
  const requests = sum((u) => u.requests);
  const cpuMicros = sum((u) => u.cpuMicros);
  const seconds = sum((u) => u.seconds);
  const usage = {
    requests,
    cpuMicros,
    cpuMicrosPerRequest: requests > 0 ? cpuMicros / requests : 0,
    eventLoopUtilization: sum((u) => u.eventLoopUtilization * u.seconds) / (seconds || 1),
    maxRssBytes: Math.max(...runs.map((r) => r.usage.maxRssBytes)),
    seconds,
  };
  return { ...middle, usage };
}

/** `measure` of every side `rounds` times, the sides taking turns (in reverse in odd rounds). */
export async function takeTurns<S extends string, R>(
  sides: readonly S[],
  rounds: number,
  measure: (side: S) => Promise<R>,
): Promise<Record<S, R[]>> {
  const runs = Object.fromEntries(sides.map((side) => [side, [] as R[]])) as Record<S, R[]>;
  for (let round = 0; round < rounds; round += 1) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      runs[side].push(await measure(side));
    }
  }
  return runs;
}

const fileName = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** One more run of each side under V8's profiler, summarised per request. */
async function profileSides(w: Workload, sides: Side[], servers: Servers, load: MeasureOptions) {
  const profiles: EndpointResult['profiles'] = {};
  for (const side of sides) {
    const file = join(load.profileDir as string, `${fileName(w.name)}.${side}.cpuprofile`);
    const label = `${w.name} (${side}, profiled)`;
    const server = servers[side] as ServerProcess;
    const { usage } = await measure(w, server, { ...load, warmup: 0 }, label, file);
    profiles[side] = { usage, costs: summarizeProfile(file, usage.cpuMicrosPerRequest) };
  }
  return profiles;
}

/**
 * Each workload on the API, each read also on the baseline (and Express alone): each side warmed
 * up, then the sides taking turns, then with --profile one profiled run each.
 */
export async function measureEndpoints(
  work: Workload[],
  servers: Servers,
  counts: Counts,
  load: MeasureOptions,
  log: (m: string) => void,
): Promise<EndpointResult[]> {
  const results: EndpointResult[] = [];
  for (const w of work) {
    const sides: Side[] = w.write ? ['api'] : ['api', 'baseline'];
    if (!w.write && servers.floor) sides.push('floor');
    const server = (side: Side) => servers[side] as ServerProcess;
    // Not the write: its warm-up would add thousands of posts for the migration to transform.
    for (const side of w.write ? [] : sides) {
      await warmUp(w, server(side).url, load.connections, load.warmupRequests);
    }
    const runs = await takeTurns(sides, load.rounds, (side) =>
      measure(w, server(side), load, `${w.name} (${side})`),
    );
    const profiles = load.profileDir ? await profileSides(w, sides, servers, load) : {};
    const [api, baseline, floor] = [runs.api, runs.baseline, runs.floor].map((r) =>
      r ? combine(r) : undefined,
    );
    const { name, list } = w;
    const { commands } = counts.get(name) as { commands: CommandCount };
    results.push({ name, list, api: api as LoadResult, baseline, floor, profiles, commands });
    const cpu = (r?: LoadResult) => (r ? `${r.usage.cpuMicrosPerRequest.toFixed(0)} µs` : '–');
    log(
      `${w.name}: CPU per request API ${cpu(api)}, baseline ${cpu(baseline)}, Express alone ${cpu(floor)}`,
    );
  }
  return results;
}
