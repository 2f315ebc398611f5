import autocannon from 'autocannon';
import type { ProcessUsage } from './usage.ts';

export interface LoadSpec {
  /** Base URL of the server (http://127.0.0.1:port). */
  url: string;
  /** Paths requested in turn, so that reads do not all hit one document. */
  paths: string[];
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  /** Completed requests per second over the measured run. */
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  errors: number;
  non2xx: number;
  /** What the server process spent over the measured run, by its own counters. */
  usage?: ProcessUsage;
}

/** The server's own accounting of a measured run: opened before it, closed after its backlog. */
export interface UsageWindow {
  start(): Promise<void>;
  stop(): Promise<ProcessUsage>;
}

// Far above any healthy answer; on a slow engine a full collection scan can take seconds.
const TIMEOUT_SECONDS = 120;

/** `seconds` of load, or exactly `amount` requests when given. */
function run(spec: LoadSpec, connections: number, seconds: number, amount?: number) {
  let next = 0;
  return autocannon({
    url: spec.url,
    connections,
    ...(amount ? { amount } : { duration: seconds }),
    timeout: TIMEOUT_SECONDS,
    method: spec.method ?? 'GET',
    headers: { ...spec.headers, ...(spec.body ? { 'content-type': 'application/json' } : {}) },
    body: spec.body,
    requests: [
      {
        setupRequest: (request) => {
          const path = spec.paths[next % spec.paths.length] as string;
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
async function drain(spec: LoadSpec): Promise<void> {
  const res = await fetch(`${spec.url}${spec.paths[0]}`, {
    method: spec.method ?? 'GET',
    headers: { ...spec.headers, ...(spec.body ? { 'content-type': 'application/json' } : {}) },
    body: spec.body,
  });
  await res.arrayBuffer();
}

/**
 * Brings a server to its steady state on one endpoint before its first measured run: V8 keeps
 * compiling hot code for thousands of requests, so at a list endpoint's 100 requests a second
 * a warm-up of a few seconds leaves the measured runs paying for compilation (and more of it
 * in the API, which has more code than the baseline: measured, its CPU per request fell by half
 * over its first 4,000 requests). At least `requests` requests, or `maxSeconds` of load when
 * the endpoint is too slow for that (from the rate of a first 2-second run).
 */
export async function warmUp(
  spec: LoadSpec,
  options: { connections: number; requests: number; maxSeconds: number },
): Promise<void> {
  if (options.requests <= 0) return;
  const probe = await run(spec, options.connections, 2);
  const rate = probe.requests.total / Math.max(probe.duration, 1);
  const left = Math.min(
    options.requests - probe.requests.total,
    Math.ceil(rate * options.maxSeconds),
  );
  if (left > 0) await run(spec, options.connections, 0, left);
  await drain(spec);
}

/**
 * Loads the server for `warmup` seconds (discarded: JIT, pools, caches), then measures for
 * `duration` seconds with autocannon over keep-alive connections on 127.0.0.1. `window` is the
 * server's own account of the measured run, closed once the requests abandoned at its end were
 * answered too (their CPU and their count are both in it). `warmup` 0 skips the warm-up.
 */
export async function measure(
  spec: LoadSpec,
  options: { connections: number; warmup: number; duration: number },
  window?: UsageWindow,
): Promise<LoadResult> {
  if (options.warmup > 0) {
    await run(spec, options.connections, options.warmup);
    await drain(spec);
  }
  await window?.start();
  const result = await run(spec, options.connections, options.duration);
  await drain(spec);
  const usage = await window?.stop();
  const requests = result.requests.total;
  return {
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      mean: result.latency.mean,
      max: result.latency.max,
    },
    errors: result.errors,
    non2xx: result.non2xx,
    usage,
  };
}
