import { createServer, type Server } from 'node:http';
import type { RequestHandler } from 'express';
import type { MongoClient } from 'mongodb';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one API process (docs/operations.md lists them with example queries):
 * HTTP request durations by route pattern and status, requests in flight, MongoDB command
 * durations and the connection pool from the driver's monitoring events, and prom-client's
 * process and Node metrics (CPU, RSS, heap, file descriptors, event-loop delay, GC).
 */
export interface Metrics {
  registry: Registry;
  /** Counts and times every request; mount first, so refused requests are counted too. */
  track: RequestHandler;
  /** Subscribes to a driver client's command and pool events. */
  watchMongo(client: MongoClient): void;
  /** The exposition text, for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

// Seconds; from a cached read (~1 ms) to a slow scan under load.
const HTTP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    track: requestTracker(registry),
    watchMongo: mongoWatcher(registry),
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

function requestTracker(registry: Registry): RequestHandler {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request to the end of its response, by route pattern and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests received and not yet answered',
    registers: [registry],
  });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    inFlight.inc();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      inFlight.dec();
      // The route's pattern, never the raw URL: ids and unknown paths would make unbounded series.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      duration.observe({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };
}

function mongoWatcher(registry: Registry): (client: MongoClient) => void {
  const commands = new Histogram({
    name: 'mongodb_command_duration_seconds',
    help: 'Round trip of a MongoDB command, from the driver command monitoring events',
    labelNames: ['command', 'outcome'] as const,
    buckets: DB_BUCKETS,
    registers: [registry],
  });
  const pool = new Gauge({
    name: 'mongodb_pool_connections',
    help: 'Connections of the driver pools: open (state="open") and checked out (state="in_use")',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const waiting = new Gauge({
    name: 'mongodb_pool_checkout_waiting',
    help: 'Operations waiting for a pool connection',
    registers: [registry],
  });
  pool.set({ state: 'open' }, 0);
  pool.set({ state: 'in_use' }, 0);
  return (client) => {
    const observe = (outcome: string) => (event: { commandName: string; duration: number }) =>
      commands.observe({ command: event.commandName, outcome }, event.duration / 1000);
    client.on('commandSucceeded', observe('succeeded'));
    client.on('commandFailed', observe('failed'));
    client.on('connectionCreated', () => pool.inc({ state: 'open' }));
    client.on('connectionClosed', () => pool.dec({ state: 'open' }));
    client.on('connectionCheckOutStarted', () => waiting.inc());
    client.on('connectionCheckOutFailed', () => waiting.dec());
    client.on('connectionCheckedOut', () => {
      waiting.dec();
      pool.inc({ state: 'in_use' });
    });
    client.on('connectionCheckedIn', () => pool.dec({ state: 'in_use' }));
  };
}

/** GET /metrics on the API's port, for the listed socket addresses only (others: not found). */
export function metricsRoute(metrics: Metrics, allow: readonly string[]): RequestHandler {
  const allowed = new Set(allow);
  return async (req, res, next) => {
    // The socket's address, not req.ip: X-Forwarded-For is the client's to write.
    if (!allowed.has(req.socket.remoteAddress ?? '')) return next();
    const { contentType, body } = await metrics.render();
    res.set('Content-Type', contentType).set('Cache-Control', 'no-store').send(body);
  };
}

/** A listener of its own that serves GET /metrics and nothing else. */
export function metricsServer(metrics: Metrics): Server {
  return createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body);
      },
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics failed\n'),
    );
  });
}
