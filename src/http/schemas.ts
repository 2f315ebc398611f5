import { z } from 'zod';
import { CURSOR_MAX_LENGTH, CURSOR_PATTERN } from '../shared/cursor.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { DATE_TIME_PATTERN, parseInstant } from '../shared/instant.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PAGE_SIZE_DIGITS } from '../shared/page.ts';
import {
  codePointLength,
  hasForbiddenControl,
  hasLoneSurrogate,
  isVisiblyEmpty,
  NO_CONTROL_PATTERN,
  VISIBLE_TEXT_PATTERN,
} from '../shared/text.ts';
import { statusByCode } from './error-handler.ts';

/** The id every example of the document uses (a user's, a post's). */
export const EXAMPLE_ID = '665f1c2b9d3e4a0012345678';

/**
 * A 24-hex-digit ObjectId, as it appears in URLs and JSON; either case is accepted and the
 * canonical lower-case form is what handlers receive.
 */
export const objectIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{24}$/, 'must be a 24-character hexadecimal id')
  .transform((id) => id.toLowerCase())
  .meta({ example: EXAMPLE_ID });

// Ids in paths are lower-cased once, by objectIdSchema: the domain compares them as strings (is
// this me?), and case must never change who an id names.
export const idParamsSchema = z.strictObject({ id: objectIdSchema });

const digitsOnly = (value: unknown) =>
  typeof value === 'string' && PAGE_SIZE_DIGITS.test(value) ? Number(value) : value;

/**
 * The `limit` and `cursor` of a paginated list. `cursorExample` is a cursor that this very list
 * issues for the document's example parameters (exampleCursor), so that every published example
 * is one the list accepts.
 */
export function pageQueryShape(cursorExample: string) {
  return {
    limit: z
      .preprocess(
        digitsOnly,
        z
          .number({ error: `must be a whole number in decimal digits, 1-${MAX_PAGE_SIZE}` })
          .int()
          .min(1)
          .max(MAX_PAGE_SIZE),
      )
      .default(DEFAULT_PAGE_SIZE)
      .meta({ description: `Page size, 1-${MAX_PAGE_SIZE}, in decimal digits`, example: 2 }),
    // Checked by the cursor codec, so that every bad cursor is 400 invalid-cursor (not
    // validation-failed); the document publishes the same rules.
    cursor: z
      .string()
      .optional()
      .meta({
        minLength: 1,
        maxLength: CURSOR_MAX_LENGTH,
        pattern: CURSOR_PATTERN,
        example: cursorExample,
        description:
          'Opaque token: the nextCursor of the previous page of the same list, with the same ' +
          'sort, path and filters (the example is one this list issues for the other examples). ' +
          'Any other value (empty, altered, from another list or other parameters) is 400 ' +
          'invalid-cursor.',
      }),
  };
}

/**
 * A date-time in a query string, as its exact instant: the published pattern (with
 * `format: date-time` for the calendar) is what is checked, see src/shared/instant.ts.
 */
export const instantSchema = z
  .string()
  .max(64)
  .regex(new RegExp(DATE_TIME_PATTERN), 'must be an RFC 3339 date-time like 2024-05-01T12:00:00Z')
  .transform((text, ctx) => {
    const instant = parseInstant(text);
    if (instant) return instant;
    ctx.addIssue({ code: 'custom', message: 'no such day in the calendar' });
    return z.NEVER;
  })
  .meta({ format: 'date-time' });

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Cursor of the next page; null on the last page' }),
  });
}

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z
        .enum(Object.keys(statusByCode) as [ErrorCode, ...ErrorCode[]])
        .meta({ example: 'validation-failed', description: 'Stable; docs/api.md lists each' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

/**
 * Free text (a post, a profile, a password): at most `max` Unicode code points as sent (what
 * JSON Schema's maxLength counts), no control character but newline and tab, no lone surrogate;
 * `visible`: something other than whitespace and invisible format characters; `trim`: stored
 * without surrounding whitespace. The document publishes the same rules as lengths and a pattern.
 */
export function textSchema(options: {
  max: number;
  min?: number;
  visible?: boolean;
  trim?: boolean;
}) {
  const { max, min = 0, visible = false, trim = false } = options;
  const checked = z.string().superRefine((value, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    const length = codePointLength(value);
    if (hasLoneSurrogate(value)) fail('must be valid Unicode (a lone surrogate is not)');
    else if (hasForbiddenControl(value))
      fail('must not contain control characters (newline and tab are allowed)');
    else if (length > max) fail(`must be at most ${max} characters`);
    else if (length < min) fail(`must be at least ${min} characters`);
    else if (visible && isVisiblyEmpty(value))
      fail('must contain a visible character (spaces and invisible characters do not count)');
  });
  const stored = trim ? checked.transform((value) => value.trim()) : checked;
  return stored.meta({
    ...(visible ? { minLength: Math.max(1, min) } : min > 0 ? { minLength: min } : {}),
    maxLength: max,
    pattern: visible ? VISIBLE_TEXT_PATTERN : NO_CONTROL_PATTERN,
  });
}
