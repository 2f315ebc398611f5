import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { AppError } from './errors.ts';
import { hasLoneSurrogate } from './text.ts';

/** What a sort key holds, which decides how a cursor carries it and checks it on the way back. */
export type KeyType = 'date' | 'objectId' | 'count' | 'name';

export interface KeysetKey {
  field: string;
  order: 1 | -1;
  type: KeyType;
}

/**
 * One keyset-paginated list: which list and sort order it is (`kind`) and, once scopedTo gave
 * it its parameters, which instance of it (`scope`: whose posts, which tag, whose feed, which
 * filters); both travel in its cursors, so that a cursor of any other list or parameters is
 * refused. Its sort keys come last, the last of them unique so that the order is total.
 */
export interface Keyset {
  readonly kind: string;
  readonly scope?: string;
  readonly keys: readonly KeysetKey[];
}

/** A list newest first by a date field, its _id breaking ties (posts, follow edges). */
export function newestFirst(kind: string, dateField: string): Keyset {
  return {
    kind,
    keys: [
      { field: dateField, order: -1, type: 'date' },
      { field: '_id', order: -1, type: 'objectId' },
    ],
  };
}

/**
 * The list narrowed by its parameters (undefined ones left out): its cursors carry a digest of
 * them, so a cursor of user A's posts does not page user B's, nor one of ?author=A the whole
 * list. A digest, not the values: the cursor stays short, bounded and opaque.
 */
export function scopedTo(keyset: Keyset, parameters: Record<string, string | undefined>): Keyset {
  const given = Object.entries(parameters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  if (given.length === 0) return keyset;
  const scope = createHash('sha256').update(JSON.stringify(given)).digest('base64url').slice(0, 16);
  return { ...keyset, scope };
}

/** A decoded position: one value per sort key (Date, ObjectId, number or string). */
export type Position = unknown[];

/** Longest cursor accepted; every cursor the API issues is far shorter. */
export const CURSOR_MAX_LENGTH = 512;
/** The base64url alphabet without padding: what every issued cursor is made of. */
export const CURSOR_PATTERN = '^[A-Za-z0-9_-]+$';
const CURSOR_CHARS = new RegExp(CURSOR_PATTERN);

// The range of a JavaScript Date (and of what BSON dates the API writes can hold).
const MAX_TIME = 8.64e15;

function invalid(message: string): AppError {
  return new AppError('invalid-cursor', message);
}

function toRaw(type: KeyType, value: unknown): number | string {
  if (type === 'date') return (value as Date).getTime();
  if (type === 'objectId') return String(value);
  return value as number | string;
}

function fromRaw(type: KeyType, raw: unknown): unknown {
  switch (type) {
    case 'date':
      if (Number.isInteger(raw) && Math.abs(raw as number) <= MAX_TIME)
        return new Date(raw as number);
      break;
    case 'objectId':
      if (typeof raw === 'string' && /^[0-9a-f]{24}$/.test(raw)) return new ObjectId(raw);
      break;
    case 'count':
      if (Number.isSafeInteger(raw) && (raw as number) >= 0) return raw;
      break;
    case 'name':
      if (
        typeof raw === 'string' &&
        raw.length > 0 &&
        raw.length <= 64 &&
        !hasLoneSurrogate(raw) &&
        !raw.includes('\u0000')
      )
        return raw;
      break;
  }
  throw invalid('The cursor holds a value out of range');
}

/**
 * Cursors are sealed: a MAC over their content (HMAC-SHA256, first 12 bytes) goes in front of it,
 * so a cursor is taken only as the API issued it; an altered byte, or a position the API never
 * issued, is 400. The key comes from JWT_SECRET (useCursorSecret, at app start); without one
 * (development, tests) a fixed key, with which the published examples are sealed too.
 */
const MAC_BYTES = 12;
const DEVELOPMENT_KEY = Buffer.from('microblog cursors, development only');
let cursorKey: Buffer = DEVELOPMENT_KEY;

/** Seals the cursors of this process with a key derived from `secret` (none: the development key). */
export function useCursorSecret(secret: string | undefined): void {
  cursorKey = secret ? createHmac('sha256', secret).update('cursors').digest() : DEVELOPMENT_KEY;
}

function macOf(content: Buffer): Buffer {
  return createHmac('sha256', cursorKey).update(content).digest().subarray(0, MAC_BYTES);
}

/** The cursor of a JSON payload: base64url of its MAC, then the payload. */
export function sealCursor(payload: unknown): string {
  const content = Buffer.from(JSON.stringify(payload));
  return Buffer.concat([macOf(content), content]).toString('base64url');
}

/** The payload of a sealed cursor, or undefined when its MAC does not match. */
function openCursor(cursor: string): unknown {
  const bytes = Buffer.from(cursor, 'base64url');
  const content = bytes.subarray(MAC_BYTES);
  const mac = bytes.subarray(0, MAC_BYTES);
  if (mac.length !== MAC_BYTES || !timingSafeEqual(mac, macOf(content))) return undefined;
  return JSON.parse(content.toString('utf8'));
}

function serialize(kind: string, scope: string | undefined, raw: unknown[]): string {
  return sealCursor(scope === undefined ? { k: kind, p: raw } : { k: kind, s: scope, p: raw });
}

/** The cursor of the page after `last`: the list's kind and last's sort key, sealed. */
export function encodeCursor(keyset: Keyset, last: Record<string, unknown>): string {
  return serialize(
    keyset.kind,
    keyset.scope,
    keyset.keys.map((key) => toRaw(key.type, last[key.field])),
  );
}

/**
 * The position a cursor holds, or 400 invalid-cursor: empty, too long, not base64url, not
 * exactly what the API issued (its MAC, trailing characters, other spelling), another list's,
 * sort's or parameters', or holding values out of range.
 */
export function decodeCursor(keyset: Keyset, cursor: string): Position {
  if (cursor === '') throw invalid('The cursor is empty; leave it out for the first page');
  if (cursor.length > CURSOR_MAX_LENGTH || !CURSOR_CHARS.test(cursor)) {
    throw invalid('The cursor is malformed');
  }
  let parsed: unknown;
  try {
    parsed = openCursor(cursor);
  } catch {
    throw invalid('The cursor is malformed');
  }
  if (parsed === undefined) throw invalid('The cursor was not issued by this API, or was altered');
  const { k, s, p } = (parsed ?? {}) as { k?: unknown; s?: unknown; p?: unknown };
  if (
    typeof k !== 'string' ||
    (s !== undefined && typeof s !== 'string') ||
    !Array.isArray(p) ||
    serialize(k, s, p) !== cursor
  ) {
    throw invalid('The cursor is malformed');
  }
  if (k !== keyset.kind || s !== keyset.scope) {
    throw invalid(
      'The cursor belongs to another list, sort order or filter; start again without it',
    );
  }
  if (p.length !== keyset.keys.length) throw invalid('The cursor is malformed');
  return keyset.keys.map((key, i) => fromRaw(key.type, p[i]));
}
