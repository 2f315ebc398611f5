/** One page of a keyset-paginated listing. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
