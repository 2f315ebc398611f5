import type { ZodType } from 'zod';
import { AppError } from './errors.ts';

/**
 * Keyset-pagination cursors: the sort key of the last item of a page, as base64url JSON.
 * Opaque to clients; validated by a schema on the way back in.
 */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('invalid-cursor', 'The cursor is malformed');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AppError('invalid-cursor', 'The cursor is malformed');
  return parsed.data;
}
