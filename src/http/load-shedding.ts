import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../shared/errors.ts';
import { clientAddress } from './rate-limit.ts';

export interface LoadLimits {
  maxInFlightPerClient: number;
  maxInFlight: number;
  /** 0: no lag check. */
  maxEventLoopLagMs: number;
}

/** Seconds a refused client is asked to wait: load changes within a second. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;
const LAG_SAMPLE_MS = 100;

/**
 * The event loop's recent lag: how late a 100 ms timer fires, kept as the worst sample and then
 * decayed by half each sample, so one long block sheds for a few hundred ms, not for ever.
 * One per process (there is one event loop); the timer does not keep the process alive.
 * Not perf_hooks.monitorEventLoopDelay: tried, it records a block only after the poll phase that
 * serves the next request, so the request right after an 800 ms block passed (load-shedding test).
 */
let lagMs = 0;
let sampler: NodeJS.Timeout | undefined;
function eventLoopLag(): number {
  if (!sampler) {
    let last = performance.now();
    sampler = setInterval(() => {
      const now = performance.now();
      const late = Math.max(0, now - last - LAG_SAMPLE_MS);
      last = now;
      lagMs = Math.max(late, lagMs / 2);
    }, LAG_SAMPLE_MS);
    sampler.unref();
  }
  return lagMs;
}

/** Work still running for each response (its route handler), keyed by the response. */
const running = new WeakMap<Response, { pending: number; closed: boolean; release(): void }>();

/**
 * Keeps the request's in-flight slot until `work` settles, even when its client hangs up first:
 * a slot given back on the socket's close would let a client that closes its sockets start
 * database work without bound (the work itself runs on).
 */
export function holdSlotUntil(res: Response, work: Promise<unknown>): void {
  const slot = running.get(res);
  if (!slot) return;
  slot.pending += 1;
  const settled = () => {
    slot.pending -= 1;
    if (slot.closed && slot.pending === 0) slot.release();
  };
  work.then(settled, settled);
}

/**
 * Keeps one client from starving the others, and the process from taking more than it can
 * serve. A client (address, as the rate limits see it) with `maxInFlightPerClient` requests
 * still running (not yet answered or abandoned, or with route work not settled: holdSlotUntil)
 * gets 429 too-many-requests at once; while `maxInFlight` requests are running, or the event loop lags more than `maxEventLoopLagMs`, new requests get 503 overloaded. Both
 * answers carry Retry-After and cost no database command. `exempt` paths (health probes) are
 * neither counted nor refused.
 *
 * Written here (about 60 lines): the shedding libraries for Express (overload-protection,
 * toobusy-js) check the event loop or the heap but none caps requests per client.
 */
export function loadShedding(
  limits: LoadLimits,
  exempt: (req: Request) => boolean,
): RequestHandler {
  const perClient = new Map<string, number>();
  let inFlight = 0;
  if (limits.maxEventLoopLagMs > 0) eventLoopLag();
  return (req, res, next) => {
    if (exempt(req)) return next();
    const client = clientAddress(req);
    const mine = perClient.get(client) ?? 0;
    const refuse = (error: AppError) => {
      res.setHeader('Retry-After', String(OVERLOAD_RETRY_AFTER_SECONDS));
      next(error);
    };
    if (mine >= limits.maxInFlightPerClient) {
      return refuse(
        new AppError('too-many-requests', 'Too many requests in flight from this client'),
      );
    }
    if (
      inFlight >= limits.maxInFlight ||
      (limits.maxEventLoopLagMs > 0 && eventLoopLag() > limits.maxEventLoopLagMs)
    ) {
      return refuse(
        new AppError('overloaded', 'The server is overloaded; retry after Retry-After'),
      );
    }
    inFlight += 1;
    perClient.set(client, mine + 1);
    const slot = {
      pending: 0,
      closed: false,
      release() {
        inFlight -= 1;
        const left = (perClient.get(client) ?? 1) - 1;
        if (left > 0) perClient.set(client, left);
        else perClient.delete(client);
      },
    };
    running.set(res, slot);
    // Given back once the response is done or abandoned and no work of it runs (holdSlotUntil).
    res.once('close', () => {
      slot.closed = true;
      if (slot.pending === 0) slot.release();
    });
    next();
  };
}
