import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.ts';

declare module 'http' {
  interface IncomingMessage {
    /** The request id (X-Request-Id). */
    id: string;
    /** A logger whose every line names the request id (`requestId`). */
    log: Logger;
  }
}

// An incoming id is echoed only when it cannot forge or break a log line.
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

type Level = 'info' | 'warn' | 'error';

function levelOf(status: number, error: unknown): Level {
  // During an outage every request is a 503: a warning each, not an error with a stack.
  if (status === 503) return 'warn';
  if (error || status >= 500) return 'error';
  if (status >= 400) return 'warn';
  return 'info';
}

// Three dot-separated base64url runs (a dot may come percent-encoded): a JWT, wherever it sits.
const TOKEN_SHAPE = /[\w-]{10,}(?:\.|%2e)[\w-]{10,}(?:\.|%2e)[\w-]*/gi;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * The URL as the log shows it: like a header, a query value can carry a credentials (a token
 * sent as `?access_token=`), so only the values of the API's own query keys are kept and every
 * other value is `[redacted]`; anything shaped like a token is redacted wherever it sits.
 */
export function redactUrl(url: string, visibleKeys: ReadonlySet<string>): string {
  const mark = url.indexOf('?');
  let shown = url;
  if (mark !== -1) {
    const pairs = url
      .slice(mark + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq === -1 || visibleKeys.has(decodedName(pair.slice(0, eq)))) return pair;
        return `${pair.slice(0, eq)}=[redacted]`;
      });
    shown = `${url.slice(0, mark)}?${pairs.join('&')}`;
  }
  return shown.replace(TOKEN_SHAPE, '[redacted]');
}

/**
 * Gives every request an id (a well-formed incoming X-Request-Id, else a UUID), returns it in
 * X-Request-Id, and logs one JSON line per response, in pino-http's shape: `requestId`, `req`
 * (id, method, url with credentials redacted, remoteAddress: the request, not its headers), `res` (statusCode),
 * `responseTime`, "request completed", "request aborted" or "request errored" (with `err`, not
 * for a 503). `req.log` carries the id, so every line logged while serving the request names it.
 *
 * Not pino-http, which builds two child loggers per request, one of them serialising the
 * request, whether or not a line is written: here `req.log` is made on first use and the
 * response line only when its level is enabled (docs/benchmarks.md has the measured cost).
 */
export function requestLog(logger: Logger, visibleQueryKeys: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    let log: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: false,
      get: () => {
        log ??= logger.child({ requestId: id });
        return log;
      },
    });
    const started = Date.now();
    const summary = {
      id,
      method: req.method,
      url: redactUrl(req.originalUrl || req.url, visibleQueryKeys),
      remoteAddress: req.socket?.remoteAddress,
    };
    const done = (error?: Error) => {
      res.off('close', done);
      res.off('finish', done);
      res.off('error', done);
      const level = levelOf(res.statusCode, error);
      if (!logger.isLevelEnabled(level)) return;
      const line = {
        req: summary,
        res: { statusCode: res.statusCode },
        responseTime: Date.now() - started,
      };
      if (error || res.statusCode >= 500) {
        const err = error ?? new Error(`failed with status code ${res.statusCode}`);
        req.log[level](res.statusCode === 503 ? line : { ...line, err }, 'request errored');
        return;
      }
      const ended = !req.readableAborted && res.writableEnded;
      req.log[level](line, ended ? 'request completed' : 'request aborted');
    };
    res.on('close', done);
    res.on('finish', done);
    res.on('error', done);
    next();
  };
}
