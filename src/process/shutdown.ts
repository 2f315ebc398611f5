import type { Server } from 'node:http';
import type { Logger } from '../logger.ts';

export interface Shutdown {
  /** Aborted once a shutdown began: start-up stops retrying. */
  readonly signal: AbortSignal;
  /** Registers something to close on shutdown; closed in reverse order of registration. */
  onShutdown(name: string, close: () => Promise<void>): void;
  /** Closes everything, then exits with `exitCode`; a second call exits 1 at once. */
  begin(reason: string, exitCode: number): Promise<void>;
  /** SIGTERM and SIGINT shut down with 0; unhandled rejections and exceptions with 1. */
  handleProcessEvents(process: NodeJS.Process): void;
}

/**
 * Graceful shutdown: close what was opened, newest first (the HTTP server, so that in-flight
 * requests finish while the database is still there, then the database, then the embedded
 * engine), and exit. A second signal, or the timeout, exits 1 without waiting.
 */
export function createShutdown(options: {
  logger: Logger;
  timeoutMs: number;
  exit: (code: number) => void;
}): Shutdown {
  const { logger, timeoutMs, exit } = options;
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  const controller = new AbortController();

  async function begin(reason: string, exitCode: number): Promise<void> {
    if (controller.signal.aborted) {
      logger.warn(`${reason} during shutdown: exiting now`);
      exit(1);
      return;
    }
    controller.abort(reason);
    logger.info({ timeoutMs }, `${reason}: shutting down`);
    const timer = setTimeout(() => {
      logger.error(`shutdown took longer than ${timeoutMs} ms: exiting`);
      exit(1);
    }, timeoutMs);
    try {
      for (const { name, close } of closers.toReversed()) {
        await close();
        logger.info(`${name} closed`);
      }
      clearTimeout(timer);
      logger.info('shutdown complete');
      exit(exitCode);
    } catch (error) {
      clearTimeout(timer);
      logger.error({ err: error }, 'shutdown failed');
      exit(1);
    }
  }

  const shutdown: Shutdown = {
    signal: controller.signal,
    onShutdown: (name, close) => {
      closers.push({ name, close });
    },
    begin,
    handleProcessEvents: (process) => handleProcessEvents(process, shutdown, logger),
  };
  return shutdown;
}

// Ours, not close-with-grace's: the second signal exits at once, not the first signal after
// another cause. A signal to `npm start`'s process group also ends npm, and the parent watch
// (launcher.ts) may begin the shutdown a moment before the app's own SIGTERM is handled: that
// SIGTERM asks for what is already going on, and cutting it short would drop in-flight requests.
function handleProcessEvents(process: NodeJS.Process, shutdown: Shutdown, logger: Logger): void {
  let signals = 0;
  const onSignal = (name: string) => () => {
    signals += 1;
    if (shutdown.signal.aborted && signals === 1) {
      logger.info(`${name}: already shutting down (a second signal exits at once)`);
      return;
    }
    void shutdown.begin(name, 0);
  };
  process.on('SIGTERM', onSignal('SIGTERM'));
  process.on('SIGINT', onSignal('SIGINT'));
  const crash = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, kind);
    // Mid-shutdown, a late rejection is logged but does not cut the shutdown short.
    if (!shutdown.signal.aborted) void shutdown.begin(kind, 1);
  };
  process.on('unhandledRejection', crash('unhandled rejection'));
  process.on('uncaughtException', crash('uncaught exception'));
}

/**
 * Stops accepting connections and resolves once every in-flight request has been answered.
 * Idle keep-alive connections are closed at once and busy ones as soon as their response is
 * done; a request that still arrives on one is answered with `Connection: close`.
 * Node's own close() and closeIdleConnections() (Node 19+) do what http-terminator added.
 */
export function closeServer(server: Server): Promise<void> {
  server.on('request', (_req, res) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  // A keep-alive connection turns idle when its response is done; close it then, not later.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  }).finally(() => clearInterval(sweep));
}
