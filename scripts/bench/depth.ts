import type { Db } from 'mongodb';
import { encodeCursor } from '../../src/shared/cursor.ts';
import { measure } from './load.ts';

export const DEPTHS = [0, 0.1, 0.5, 0.9] as const;

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
  return encodeCursor({ t: (last.timestamp as Date).getTime(), id: last._id.toHexString() });
}

/**
 * Latency of one page of 20 at each depth, one connection at a time (latency, not queueing):
 * cursor pagination through the API and the baseline, and skip/limit through the baseline.
 */
export async function measureDepth(
  db: Db,
  posts: number,
  servers: { api: string; baseline: string },
  options: { warmup: number; duration: number },
  log: (m: string) => void,
): Promise<DepthSeries> {
  const series: DepthSeries = { apiCursor: [], rawCursor: [], rawSkip: [] };
  const run = { connections: 1, warmup: Math.min(options.warmup, 1), duration: options.duration };
  for (const depth of DEPTHS) {
    const offset = Math.floor(posts * depth);
    const cursor = await cursorAt(db, offset);
    const query = cursor ? `?limit=20&cursor=${cursor}` : '?limit=20';
    const point = async (url: string, path: string) => {
      const r = await measure({ url, paths: [path] }, run);
      if (r.errors || r.non2xx)
        throw new Error(`depth ${depth}: ${r.errors + r.non2xx} failed requests`);
      return { depth, offset, requests: r.requests, ...r.latencyMs };
    };
    series.apiCursor.push(await point(servers.api, `/api/posts${query}`));
    series.rawCursor.push(await point(servers.baseline, `/api/posts${query}`));
    series.rawSkip.push(await point(servers.baseline, `/skip/posts?limit=20&skip=${offset}`));
    log(`depth ${Math.round(depth * 100)}% measured`);
  }
  return series;
}
