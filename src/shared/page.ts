import { trusted } from 'mongoose';
import { decodeCursor, encodeCursor, type Keyset } from './cursor.ts';

/** One page of a keyset-paginated listing. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** A page size as a query string holds it: decimal digits only (no 1e1, 0x10, +5 or 5.0). */
export const PAGE_SIZE_DIGITS = /^[0-9]{1,3}$/;

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

export interface KeysetQuery {
  /** The documents after the cursor's position ({} on the first page); $and it with yours. */
  filter: Record<string, unknown>;
  sort: Record<string, 1 | -1>;
  /** One more than the page: the extra document only tells whether a next page exists. */
  limit: number;
}

/**
 * What to ask the database for one page of a keyset list: the documents strictly after the
 * cursor's position in the list's order, sorted, one more than the page size. Every list of the
 * API (and the bench's baseline) pages through here, so cursors, their errors and the extra
 * document behave the same everywhere.
 */
export function keysetQuery(keyset: Keyset, page: PageRequest): KeysetQuery {
  const sort = Object.fromEntries(keyset.keys.map((k) => [k.field, k.order]));
  const limit = page.limit + 1;
  if (page.cursor === undefined) return { filter: {}, sort, limit };
  const position = decodeCursor(keyset, page.cursor);
  // After (a, b, c): a beyond, or a equal and b beyond, or a and b equal and c beyond.
  const branches = keyset.keys.map((key, i) => {
    const branch: Record<string, unknown> = {};
    for (let j = 0; j < i; j++) branch[keyset.keys[j]?.field as string] = position[j];
    branch[key.field] = trusted({ [key.order === 1 ? '$gt' : '$lt']: position[i] });
    return branch;
  });
  return { filter: branches.length === 1 ? (branches[0] ?? {}) : { $or: branches }, sort, limit };
}

/**
 * The page from what keysetQuery fetched: at most `limit` views (a view may drop a document by
 * returning null) and the cursor after the last document of the page when more exist.
 */
export function keysetPage<T extends object, V>(
  keyset: Keyset,
  fetched: T[],
  limit: number,
  view: (doc: T) => V | null,
): Page<V> {
  const docs = fetched.slice(0, limit);
  const last = docs.at(-1);
  const items: V[] = [];
  for (const doc of docs) {
    const item = view(doc);
    if (item !== null) items.push(item);
  }
  return {
    items,
    nextCursor:
      fetched.length > limit && last ? encodeCursor(keyset, last as Record<string, unknown>) : null,
  };
}
