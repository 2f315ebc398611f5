import type { ErrorRequestHandler, RequestHandler } from 'express';
import mongoose from 'mongoose';
import { isDuplicateKeyError, isUnavailableError, isWaitQueueTimeout } from '../db/errors.ts';
import { AppError, type ErrorCode } from '../shared/errors.ts';
import { OVERLOAD_RETRY_AFTER_SECONDS } from './load-shedding.ts';

/** Every error code the API can send, with its status: docs/api.md's error table is checked against it. */
export const statusByCode: Record<ErrorCode, number> = {
  'validation-failed': 400,
  'invalid-cursor': 400,
  'malformed-json': 400,
  'malformed-body': 400,
  unauthenticated: 401,
  'invalid-token': 401,
  'invalid-credentials': 401,
  forbidden: 403,
  'not-found': 404,
  'user-not-found': 404,
  'post-not-found': 404,
  'method-not-allowed': 405,
  'username-taken': 409,
  'email-taken': 409,
  conflict: 409,
  'cannot-follow-self': 422,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'too-many-requests': 429,
  'headers-too-large': 431,
  'database-unavailable': 503,
  overloaded: 503,
  'migrations-pending': 503,
  'indexes-missing': 503,
  internal: 500,
};

/**
 * Errors thrown by express.json() carry a `type`; map the ones a client can cause. A body whose
 * Content-Encoding (gzip, deflate, br) does not match its bytes, or that ends early, fails in
 * zlib: body-parser wraps that in a 400 without a type.
 */
function fromBodyParser(error: { type?: string; status?: number }): AppError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppError('malformed-json', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new AppError('payload-too-large', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported-media-type', 'Unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
      return new AppError('malformed-body', 'The request body ended before its announced length');
    default:
      if (error.type === undefined && error.status === 400) {
        return new AppError(
          'malformed-body',
          'The request body could not be decoded: corrupt or truncated compressed data',
        );
      }
      return undefined;
  }
}

/** Seconds a client should wait before retrying while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Turns anything thrown into an AppError; unknown errors become `internal`. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  // Request schemas check every id before a query; this stays a 400 should one slip through.
  if (error instanceof mongoose.Error.CastError) {
    return new AppError('validation-failed', `Invalid value for ${error.path}`);
  }
  if (error instanceof mongoose.Error.ValidationError) {
    const details = Object.values(error.errors).map((e) => ({
      path: `body.${e.path}`,
      message: e.message,
    }));
    return new AppError('validation-failed', 'Invalid data', details);
  }
  if (isDuplicateKeyError(error)) return new AppError('conflict', 'Conflicts with existing data');
  if (isUnavailableError(error)) {
    return new AppError('database-unavailable', 'The database is unavailable; try again shortly');
  }
  // Every pooled connection stayed busy for MONGODB_WAIT_QUEUE_TIMEOUT_MS.
  if (isWaitQueueTimeout(error)) {
    return new AppError('overloaded', 'The server is overloaded; retry after Retry-After');
  }
  // The router cannot percent-decode a path parameter such as /api/users/%FF.
  if (error instanceof URIError && (error as URIError & { status?: number }).status === 400) {
    return new AppError('validation-failed', 'The URL is not valid percent-encoded UTF-8');
  }
  if (error && typeof error === 'object' && ('type' in error || 'status' in error)) {
    const mapped = fromBodyParser(error as { type?: string; status?: number });
    if (mapped) return mapped;
  }
  return new AppError('internal', 'Internal server error');
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not-found', `No route for ${req.method} ${req.path}`));
};

const QUIET_FAILURES = new Set<ErrorCode>([
  'database-unavailable',
  'migrations-pending',
  'indexes-missing',
  'overloaded',
]);

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const appError = toAppError(error);
  const status = statusByCode[appError.code];
  // An outage, an overload (or a readiness probe before `migrate up`) fails every request: one
  // warning each, without a stack trace to flood the log.
  if (QUIET_FAILURES.has(appError.code)) req.log.warn({ code: appError.code }, 'request failed');
  else if (status >= 500) req.log.error({ err: error }, 'request failed');
  else req.log.info({ code: appError.code }, 'request rejected');
  if (res.headersSent) {
    res.end();
    return;
  }
  if (appError.code === 'database-unavailable') {
    res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  } else if (appError.code === 'overloaded' && !res.hasHeader('Retry-After')) {
    res.setHeader('Retry-After', String(OVERLOAD_RETRY_AFTER_SECONDS));
  }
  res.status(status).json({
    error: {
      code: appError.code,
      // Messages are always our own words (unknown errors become a fixed 'internal' message):
      // driver messages and stack traces stay in the log.
      message: appError.message,
      ...(appError.details ? { details: appError.details } : {}),
    },
  });
};
