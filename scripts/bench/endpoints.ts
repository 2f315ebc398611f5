import { deepStrictEqual } from 'node:assert';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Document, MongoClient } from 'mongodb';
import { type LoadResult, measure, requestInit, type Workload, warmUp } from './load.ts';
import type { ServerProcess } from './processes.ts';
import { type CostShare, summarizeProfile } from './profile.ts';
import type { Dataset } from './seed.ts';
import type { ProcessUsage } from './serve.ts';

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

// --- Results

export type Side = 'api' | 'baseline' | 'floor';

export interface EndpointResult {
  name: string;
  list: boolean;
  api: LoadResult;
  baseline?: LoadResult;
  /** The same read on bare Express routes (Express alone), with --floor. */
  floor?: LoadResult;
  /** The profiled extra run of each side (its usage, its costs), with --profile. */
  profiles: Partial<Record<Side, { usage: ProcessUsage; costs: CostShare[] }>>;
  apiCommands: string[];
  /** Commands of the first request of a minute (the lastSeen write of authenticated ones). */
  apiFirstCommands: string[];
  tokenCheck: number;
  baselineCommands?: string[];
}

// --- Commands per request ---------------------------------------------------------------------

export interface CommandCount {
  /** Commands of one request in steady state, as "command collection". */
  commands: string[];
  /** Commands of the first request (which may pay once-a-minute work: the lastSeen write). */
  firstCommands: string[];
  /** Of `commands`, the token check of an authenticated request (a find of the user by _id). */
  tokenCheck: number;
  /** The body, for comparing the API with the baseline. */
  json: unknown;
}

export type Counts = Map<string, CommandCount>;
type CommandEvent = { commandName: string; command: Document; databaseName: string };

const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

/** Records the commands the client sends to `dbName` (but housekeeping) until stopped. */
export function recordCommands(client: MongoClient, dbName: string) {
  const events: CommandEvent[] = [];
  const listener = (event: CommandEvent) => {
    if (!HOUSEKEEPING.has(event.commandName) && event.databaseName === dbName) events.push(event);
  };
  client.on('commandStarted', listener);
  return { events, stop: () => client.off('commandStarted', listener) };
}

export function commandLabel(event: { commandName: string; command: Document }): string {
  const collection = event.command[event.commandName];
  return typeof collection === 'string' ? `${event.commandName} ${collection}` : event.commandName;
}

/**
 * A read of users that includes tokenVersion is a token check: authenticate()'s own, or the
 * feed's read of its authors, which confirms the reader's token in the same command.
 */
function isTokenCheck(event: { commandName: string; command: Document }): boolean {
  const projection = event.command.projection ?? {};
  const fields = projection instanceof Map ? [...projection.keys()] : Object.keys(projection);
  return event.command.find === 'users' && fields.includes('tokenVersion');
}

/**
 * Serves `listener` in this process and sends each workload's first request twice, recording
 * the commands of each on the monitored client: the second is the steady state.
 */
async function countCommands(
  client: MongoClient,
  dbName: string,
  listener: RequestListener,
  work: Workload[],
): Promise<Counts> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const counts: Counts = new Map();
  try {
    for (const w of work) {
      const send = async () => {
        const recording = recordCommands(client, dbName);
        const res = await fetch(`${url}${w.paths[0]}`, requestInit(w)).finally(recording.stop);
        const json = await res.json();
        if (res.status >= 300)
          throw new Error(`${w.name} answered ${res.status}: ${JSON.stringify(json)}`);
        return { json, seen: recording.events };
      };
      const first = await send();
      const { json, seen } = await send();
      const commands = seen.map(commandLabel);
      const tokenCheck = seen.filter(isTokenCheck).length;
      counts.set(w.name, {
        commands,
        firstCommands: first.seen.map(commandLabel),
        tokenCheck,
        json,
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return counts;
}

/**
 * Commands per request of the API and the baseline (and Express alone), served in this process
 * on a monitored client. Each must answer every read with the API's JSON, or it measures other
 * work. The write is counted on the API only.
 */
export async function countReads(
  client: MongoClient,
  dbName: string,
  listeners: { api: RequestListener; baseline?: RequestListener; floor?: RequestListener },
  work: Workload[],
): Promise<Partial<Record<'api' | 'baseline', Counts>>> {
  const api = await countCommands(client, dbName, listeners.api, work);
  const counted: Partial<Record<Side, Counts>> = { api };
  for (const side of ['baseline', 'floor'] as const) {
    const listener = listeners[side];
    if (!listener) continue;
    counted[side] = await countCommands(client, dbName, listener, work);
    for (const { name } of work) {
      try {
        deepStrictEqual(counted[side]?.get(name)?.json, api.get(name)?.json);
      } catch {
        throw new Error(
          `the ${side === 'floor' ? 'Express alone' : 'baseline'} answer to ${name} differs from the API's`,
        );
      }
    }
  }
  return { api, baseline: counted.baseline };
}

// --- Under load -------------------------------------------------------------------------------

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

export type Servers = { api: ServerProcess; baseline: ServerProcess; floor?: ServerProcess };

/** Several runs of one side as one: medians of throughput and latency, totals of what it spent. */
function combine(runs: LoadResult[]): LoadResult {
  const middle = [...runs].sort((a, b) => a.rps - b.rps)[(runs.length - 1) >> 1] as LoadResult;
  const sum = (f: (u: ProcessUsage) => number) => runs.reduce((total, r) => total + f(r.usage), 0);
  const [requests, cpuMicros, seconds] = [
    sum((u) => u.requests),
    sum((u) => u.cpuMicros),
    sum((u) => u.seconds),
  ];
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

/**
 * Warms each side up on `w`, then runs the sides in turns (in order in even rounds, reversed in
 * odd ones), so that load elsewhere on the machine falls on all alike.
 */
async function runRounds(w: Workload, sides: Side[], servers: Servers, load: MeasureOptions) {
  const runs: Record<Side, LoadResult[]> = { api: [], baseline: [], floor: [] };
  // Not the write: its warm-up would add thousands of posts, which the migration measured
  // after it would then have to transform (quadratic on FerretDB).
  for (const side of w.write ? [] : sides) {
    const options = {
      connections: load.connections,
      requests: load.warmupRequests,
      maxSeconds: 30,
    };
    await warmUp(w, (servers[side] as ServerProcess).url, options);
  }
  for (let round = 0; round < load.rounds; round += 1) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const server = servers[side] as ServerProcess;
      const window = { start: () => server.startWindow(), stop: () => server.stopWindow() };
      runs[side].push(await measure(w, server.url, load, window, `${w.name} (${side})`));
    }
  }
  return runs;
}

const fileName = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** One more run of each side under V8's profiler, summarised per request. */
async function profileSides(
  w: Workload,
  sides: Side[],
  servers: Servers,
  profileDir: string,
  load: MeasureOptions,
) {
  const profiles: EndpointResult['profiles'] = {};
  for (const side of sides) {
    const server = servers[side] as ServerProcess;
    const file = join(profileDir, `${fileName(w.name)}.${side}.cpuprofile`);
    const window = { start: () => server.startWindow(file), stop: () => server.stopWindow() };
    const r = await measure(
      w,
      server.url,
      { ...load, warmup: 0 },
      window,
      `${w.name} (${side}, profiled)`,
    );
    profiles[side] = { usage: r.usage, costs: summarizeProfile(file, r.usage.cpuMicrosPerRequest) };
  }
  return profiles;
}

/**
 * Throughput of each workload on the API, and of each read on the baseline (and Express alone),
 * with what each server process spent per request.
 */
export async function measureEndpoints(
  work: Workload[],
  servers: Servers,
  counts: Partial<Record<'api' | 'baseline', Counts>>,
  load: MeasureOptions,
  log: (m: string) => void,
): Promise<EndpointResult[]> {
  const results: EndpointResult[] = [];
  for (const w of work) {
    const sides: Side[] = w.write
      ? ['api']
      : servers.floor
        ? ['api', 'baseline', 'floor']
        : ['api', 'baseline'];
    const runs = await runRounds(w, sides, servers, load);
    const profiles = load.profileDir
      ? await profileSides(w, sides, servers, load.profileDir, load)
      : {};
    const [api, baseline, floor] = [runs.api, runs.baseline, runs.floor].map((r) =>
      r.length > 0 ? combine(r) : undefined,
    );
    const apiCounts = counts.api?.get(w.name);
    results.push({
      name: w.name,
      list: w.list,
      api: api as LoadResult,
      baseline,
      floor,
      profiles,
      apiCommands: apiCounts?.commands ?? [],
      apiFirstCommands: apiCounts?.firstCommands ?? [],
      tokenCheck: apiCounts?.tokenCheck ?? 0,
      baselineCommands: counts.baseline?.get(w.name)?.commands,
    });
    const cpu = (r?: LoadResult) => (r ? `${r.usage.cpuMicrosPerRequest.toFixed(0)} µs` : '–');
    log(
      `${w.name}: CPU per request API ${cpu(api)}, baseline ${cpu(baseline)}, Express alone ${cpu(floor)}`,
    );
  }
  return results;
}
