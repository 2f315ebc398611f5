import autocannon from 'autocannon';
import type { ProcessUsage } from './serve.ts';

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

export interface LoadResult {
  /** Completed requests per second over the measured run. */
  rps: number;
  latencyMs: { p50: number; p99: number };
  /** What the server process spent over the measured run, by its own counters. */
  usage: ProcessUsage;
}

/** The server's own accounting of a measured run: opened before it, closed after its backlog. */
export interface UsageWindow {
  start(): Promise<void>;
  stop(): Promise<ProcessUsage>;
}

// Far above any healthy answer; on a slow engine a full collection scan can take seconds.
const TIMEOUT_SECONDS = 120;

/** The method, headers and body of a workload's requests. */
export function requestInit(w: Workload) {
  const headers: Record<string, string> = { ...w.headers };
  if (w.body) headers['content-type'] = 'application/json';
  return { method: w.write ? ('POST' as const) : ('GET' as const), headers, body: w.body };
}

/** `seconds` of load, or exactly `amount` requests when given. */
function run(w: Workload, url: string, connections: number, seconds: number, amount?: number) {
  let next = 0;
  return autocannon({
    url,
    connections,
    ...(amount ? { amount } : { duration: seconds }),
    timeout: TIMEOUT_SECONDS,
    ...requestInit(w),
    requests: [
      {
        setupRequest: (request) => {
          const path = w.paths[next % w.paths.length] as string;
          next += 1;
          return { ...request, path };
        },
      },
    ],
  });
}

/**
 * Requests abandoned when a run ends are still being served; one more request, answered after
 * them, keeps that backlog out of the next run (it matters on slow engines).
 */
async function drain(w: Workload, url: string): Promise<void> {
  await (await fetch(`${url}${w.paths[0]}`, requestInit(w))).arrayBuffer();
}

/**
 * Brings a server to its steady state on one endpoint before its first measured run: V8 keeps
 * compiling hot code for thousands of requests (measured: the API's CPU per request fell by
 * half over its first 4,000). At least `requests` requests, or `maxSeconds` of load when the
 * endpoint is too slow for that (from the rate of a first 2-second run).
 */
export async function warmUp(
  w: Workload,
  url: string,
  options: { connections: number; requests: number; maxSeconds: number },
): Promise<void> {
  if (options.requests <= 0) return;
  const probe = await run(w, url, options.connections, 2);
  const rate = probe.requests.total / Math.max(probe.duration, 1);
  const left = Math.min(
    options.requests - probe.requests.total,
    Math.ceil(rate * options.maxSeconds),
  );
  if (left > 0) await run(w, url, options.connections, 0, left);
  await drain(w, url);
}

/**
 * Loads the server for `warmup` seconds (discarded: JIT, pools, caches), then measures for
 * `duration` seconds with autocannon over keep-alive connections on 127.0.0.1. `window` is the
 * server's own account of the measured run, closed once the requests abandoned at its end were
 * answered too (their CPU and their count are both in it). `warmup` 0 skips the warm-up.
 */
export async function measure(
  w: Workload,
  url: string,
  options: { connections: number; warmup: number; duration: number },
  window: UsageWindow,
  label: string,
): Promise<LoadResult> {
  if (options.warmup > 0) {
    await run(w, url, options.connections, options.warmup);
    await drain(w, url);
  }
  await window.start();
  const result = await run(w, url, options.connections, options.duration);
  await drain(w, url);
  const usage = await window.stop();
  if (result.errors || result.non2xx) {
    throw new Error(`${label}: ${result.errors + result.non2xx} failed requests`);
  }
  const { p50, p99 } = result.latency;
  return { rps: result.requests.total / result.duration, latencyMs: { p50, p99 }, usage };
}
