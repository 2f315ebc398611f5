/**
 * An instant as the API's query strings take it: RFC 3339 date-time (what JSON Schema's
 * `format: date-time` means), narrowed to seconds present, at most nine fractional digits and
 * no leap second (`:60`), with `T`/`Z` in either case. The pattern is published as it is (with
 * the format, which adds only "a real calendar day"); parseInstant checks that day too.
 */
export const DATE_TIME_PATTERN =
  '^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]' +
  '(?:\\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$';
const DATE_TIME = new RegExp(DATE_TIME_PATTERN);

export interface Instant {
  /** Nanoseconds since the epoch: exact, so that two instants compare as written. */
  ns: bigint;
  /**
   * The first whole millisecond at or after the instant (what BSON dates hold): a stored time
   * t is at or after the instant exactly when t >= ms, and before it exactly when t < ms.
   */
  ms: Date;
}

/** The instant a string names, or undefined when it is not such a date-time or no such day. */
export function parseInstant(text: string): Instant | undefined {
  if (!DATE_TIME.test(text)) return undefined;
  const [date = '', rest = ''] = text.toUpperCase().split('T');
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const utcDay = new Date(Date.UTC(2000, month - 1, day));
  utcDay.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  if (utcDay.getUTCMonth() !== month - 1 || utcDay.getUTCDate() !== day) return undefined;
  const zone = rest.endsWith('Z') ? '+00:00' : rest.slice(-6);
  const [clock = '', fraction = ''] = rest.slice(0, rest.endsWith('Z') ? -1 : -6).split('.');
  const [hours, minutes, seconds] = clock.split(':').map(Number) as [number, number, number];
  const offsetMinutes =
    (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const epochSeconds =
    BigInt(utcDay.getTime() / 1000) +
    BigInt(hours * 3600 + minutes * 60 + seconds - offsetMinutes * 60);
  const ns = epochSeconds * 1_000_000_000n + BigInt(fraction.padEnd(9, '0') || '0');
  const ms = ns / 1_000_000n + (ns % 1_000_000n > 0n ? 1n : 0n);
  return { ns, ms: new Date(Number(ms)) };
}
