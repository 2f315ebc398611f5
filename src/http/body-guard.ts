import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { AppError } from '../shared/errors.ts';

/** Deeper than any body the API accepts; deeper documents are refused before validation. */
export const MAX_BODY_DEPTH = 8;

/**
 * express.json() for bodies up to `limit` bytes, sent as UTF-8 (no charset, or charset=utf-8 in
 * any case: 415 otherwise, where the parser would decode UTF-16 and UTF-32 too) and valid UTF-8
 * (the parser would otherwise turn invalid bytes into U+FFFD and accept them).
 */
export function jsonBody(limit: number): RequestHandler {
  return express.json({
    limit,
    strict: true,
    verify: (_req, _res, buffer, charset) => {
      if (charset !== 'utf-8') {
        throw new AppError(
          'unsupported-media-type',
          `The request body must be UTF-8 (charset=utf-8 or none), not charset=${String(charset).slice(0, 32)}`,
        );
      }
      if (!isUtf8(buffer)) throw new AppError('malformed-json', 'The request body is not UTF-8');
    },
  });
}

// MongoDB reads `$`-prefixed keys as operators and dotted keys as paths; the prototype keys are
// how JSON reaches Object.prototype. No field of this API is named like that.
const FORBIDDEN_KEY = /^\$|\.|^__proto__$|^constructor$|^prototype$/;

/**
 * Refuses, before any route sees it, a JSON body nested deeper than MAX_BODY_DEPTH or holding a
 * key that MongoDB would read as an operator or a path. Routes' strict schemas reject such keys
 * too; this is the first wall, and it does not depend on every schema being strict.
 */
export const bodyGuard: RequestHandler = (req, _res, next) => {
  const problem = inspect(req.body);
  if (problem) next(new AppError('validation-failed', 'Invalid request body', [problem]));
  else next();
};

/** Walks the body without recursion, so a hostile depth cannot overflow the stack. */
function inspect(body: unknown): { path: string; message: string } | undefined {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [
    { value: body, path: 'body', depth: 0 },
  ];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop() as (typeof pending)[number];
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) {
      return { path, message: `nested deeper than ${MAX_BODY_DEPTH} levels` };
    }
    for (const [key, child] of Object.entries(value)) {
      if (!Array.isArray(value) && FORBIDDEN_KEY.test(key)) {
        return { path, message: `has a key "${key.slice(0, 32)}", which the API never accepts` };
      }
      pending.push({ value: child, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return undefined;
}
