import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import type { Config } from '../config.ts';
import type { DatabaseConnection } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import { AppError } from '../shared/errors.ts';
import { MongoRateLimitStore } from './mongo-rate-limit-store.ts';

export interface LimiterDeps {
  config: Config;
  db: DatabaseConnection;
  logger: Logger;
}

export interface LimiterOptions {
  /** Names this limiter's counters in a shared store. */
  name: string;
  windowMs: number;
  limit: number;
  /** Client key; undefined skips the request. Default: the client address. */
  key?: (req: Request) => string | undefined | Promise<string | undefined>;
  /** Count only failed responses (status >= 400). */
  failuresOnly?: boolean;
  skip?: (req: Request) => boolean;
}

/** The client address, with IPv6 addresses grouped by /56 as one user usually holds one. */
export const clientAddress = (req: Request): string => ipKeyGenerator(req.ip ?? 'unknown');

function createStore({ config, db, logger }: LimiterDeps, name: string): Store {
  if (config.rateLimit.store === 'memory') return new MemoryStore();
  return new MongoRateLimitStore(db, {
    prefix: `${name}:`,
    onError: (error, message) => logger.warn({ err: error }, message),
  });
}

/**
 * A fixed-window limiter answering 429 too-many-requests in the API's error shape, with
 * Retry-After and the IETF RateLimit headers. A store failure other than an outage (which the
 * MongoDB store absorbs in memory) lets the request through and is logged: a broken limiter
 * must not take the API down with it.
 */
export function createLimiter(deps: LimiterDeps, options: LimiterOptions): RequestHandler {
  const key = options.key ?? clientAddress;
  // skip() runs first and resolves the key once; keyGenerator() reads it (a key may cost a query).
  const keys = new WeakMap<Request, string>();
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: options.name,
    requestPropertyName: `rateLimit_${options.name}`,
    store: createStore(deps, options.name),
    passOnStoreError: true,
    logger: {
      error: (error, message) => deps.logger.error({ err: error }, message),
      warn: (error, message) => deps.logger.warn({ err: error }, message),
    },
    skipSuccessfulRequests: options.failuresOnly ?? false,
    // An answer the client did not cause (an outage, a bug) is not its failure.
    requestWasSuccessful: (_req, res) => res.statusCode < 400 || res.statusCode >= 500,
    skip: async (req) => {
      if (options.skip?.(req)) return true;
      const resolved = await key(req);
      if (resolved === undefined) return true;
      keys.set(req, resolved);
      return false;
    },
    keyGenerator: async (req) => keys.get(req) ?? (await key(req)) ?? '',
    handler: (_req, _res, next) => {
      next(new AppError('too-many-requests', 'Too many requests; retry after Retry-After seconds'));
    },
  });
}

const UNLIMITED_PATHS = new Set(['/healthz', '/readyz']);

/** Health probes, which load balancers poll often: no limit applies to them. */
export const isHealthProbe = (req: Request): boolean => UNLIMITED_PATHS.has(req.path);

/** The global per-address limit; health probes are exempt, load balancers poll them often. */
export function globalRateLimit(deps: LimiterDeps): RequestHandler {
  return createLimiter(deps, {
    name: 'global',
    windowMs: deps.config.rateLimit.windowMs,
    limit: deps.config.rateLimit.max,
    skip: isHealthProbe,
  });
}
