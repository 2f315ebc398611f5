import type { Db } from 'mongodb';
import { postLists } from '../../src/posts/schemas.ts';
import { encodeCursor } from '../../src/shared/cursor.ts';

export const DEPTHS = [0, 0.1, 0.5, 0.9] as const;
const ROUNDS = 5;

export interface DepthPoint {
  depth: number;
  /** Posts before the page. */
  offset: number;
  p50: number;
  p99: number;
  mean: number;
  requests: number;
}

export interface DepthSeries {
  /** API cursor pagination (the target), raw-driver cursor, and raw-driver skip/limit. */
  apiCursor: DepthPoint[];
  rawCursor: DepthPoint[];
  rawSkip: DepthPoint[];
}

/**
 * The cursor a client holds after reading `offset` posts: the sort key of the last one. Found
 * once per depth with skip (slow, but outside the measurement).
 */
async function cursorAt(db: Db, offset: number): Promise<string | undefined> {
  if (offset === 0) return undefined;
  const [last] = await db
    .collection('posts')
    .find({}, { projection: { timestamp: 1 } })
    .sort({ timestamp: -1, _id: -1 })
    .skip(offset - 1)
    .limit(1)
    .toArray();
  if (!last) throw new Error(`no post at offset ${offset}`);
  return encodeCursor(postLists.all({}), last);
}

/** One request after another on a keep-alive connection for `ms`; latencies in ms. */
async function sample(url: string, ms: number, into: number[]): Promise<void> {
  const end = performance.now() + ms;
  do {
    const start = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    into.push(performance.now() - start);
  } while (performance.now() < end);
}

function summarize(depth: number, offset: number, latencies: number[]): DepthPoint {
  const sorted = [...latencies].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    depth,
    offset,
    p50: round(rank(0.5)),
    p99: round(rank(0.99)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1)),
    requests: sorted.length,
  };
}

/**
 * Latency of one page of 20 at each depth, one request at a time (latency, not queueing):
 * cursor pagination through the API and the baseline, and skip/limit through the baseline. The
 * depths take turns in ROUNDS short slices, so that load elsewhere on the machine falls on all
 * of them alike rather than on whichever ran at that moment.
 */
export async function measureDepth(
  db: Db,
  posts: number,
  servers: { api: string; baseline: string },
  options: { warmup: number; duration: number },
  log: (m: string) => void,
): Promise<DepthSeries> {
  const targets: { depth: number; offset: number; urls: string[]; latencies: number[][] }[] = [];
  for (const depth of DEPTHS) {
    const offset = Math.floor(posts * depth);
    const cursor = await cursorAt(db, offset);
    const query = cursor ? `?limit=20&cursor=${cursor}` : '?limit=20';
    targets.push({
      depth,
      offset,
      urls: [
        `${servers.api}/api/posts${query}`,
        `${servers.baseline}/api/posts${query}`,
        `${servers.baseline}/skip/posts?limit=20&skip=${offset}`,
      ],
      latencies: [[], [], []],
    });
  }
  const warmupSlice = (options.warmup * 1000) / (targets.length * 3);
  for (const t of targets) for (const url of t.urls) await sample(url, warmupSlice, []);
  const slice = (options.duration * 1000) / ROUNDS;
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const t of targets) {
      for (const [i, url] of t.urls.entries()) await sample(url, slice, t.latencies[i] as number[]);
    }
    log(`depth round ${round}/${ROUNDS} measured`);
  }
  const series = (i: number) =>
    targets.map((t) => summarize(t.depth, t.offset, t.latencies[i] as number[]));
  return { apiCursor: series(0), rawCursor: series(1), rawSkip: series(2) };
}
