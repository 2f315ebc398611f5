import { DEFAULT_PAGE_SIZE, type Page } from '../../src/shared/page.ts';
import type { DocSide, SqlSide } from './sides.ts';

export const LIMIT = DEFAULT_PAGE_SIZE;

/** One page as both sides answer it: comparable items, and how to ask for the next page. */
export interface Answer {
  items: unknown[];
  next: unknown;
}

export interface ReadOperation {
  name: string;
  sql(side: SqlSide, after?: unknown): Promise<Answer>;
  doc(side: DocSide, after?: unknown): Promise<Answer>;
}

/** The SQL keyset parameters: the last row's sort key ($1, $2; nulls on page one), limit ($3). */
export const keyset = (after: unknown) => [...((after as unknown[]) ?? [null, null]), LIMIT + 1];

/** The document side's page request: its own opaque cursor. */
export const cursor = (after: unknown) => ({ limit: LIMIT, cursor: after as string | undefined });

/** A page of rows fetched with LIMIT + 1: the extra row only says a next page exists. */
export function sqlPage<R>(
  rows: R[],
  next: (last: R) => unknown,
  view: (row: R) => unknown,
): Answer {
  const page = rows.slice(0, LIMIT);
  const last = page.at(-1);
  return { items: page.map(view), next: rows.length > LIMIT && last ? next(last) : null };
}

export function docPage<T>(page: Page<T>, view: (item: T) => unknown): Answer {
  return { items: page.items.map(view), next: page.nextCursor ?? null };
}
