/**
 * Text rules shared by every text field: lengths in Unicode code points (what JSON Schema's
 * maxLength counts, and closer to what people see than UTF-16 units), no control characters
 * but newline and tab, no lone surrogates, and "empty" meaning nothing visible.
 *
 * The patterns are strings because the OpenAPI document publishes them as they are, and the
 * checks below are built from the same character classes, so the published rule is the rule
 * enforced. They are written for every common engine: character classes of BMP code points as
 * \uXXXX ranges, no lookaround, no property escapes (\p{...} and \s mean different sets in
 * different engines and Unicode versions), so that ECMAScript (with the u flag, as JSON Schema
 * engines compile them), Python's re, Rust's regex and generators built on them read one rule.
 *
 * A lone surrogate ("\ud800" in JSON) is refused in every text field, but the patterns do not
 * say so: it is not Unicode text (not a scalar value; Rust's regex refuses to name one, Python
 * and most JSON libraries cannot send one), and the patterns describe text. docs/api.md says it.
 */

/** Control characters other than newline and tab. */
const CONTROLS = '\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F';
/**
 * What looks like nothing: whitespace and the format characters of the Basic Multilingual Plane
 * (soft hyphen, zero-width spaces and joiners, direction marks, BOM, Arabic number signs...),
 * control characters excluded (they are refused anyway).
 */
const INVISIBLE =
  '\\t\\n\\u0020\\u00A0\\u00AD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2' +
  '\\u1680\\u180E\\u2000-\\u200F\\u2028-\\u202F\\u205F-\\u2064\\u2066-\\u206F\\u3000\\uFEFF' +
  '\\uFFF9-\\uFFFB';

/** What JavaScript's trim() removes (its \s): the surrounding whitespace of trimmed fields. */
export const WHITESPACE_CLASS =
  '[\\t\\n\\u000B\\u000C\\r\\u0020\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF]';

const ALLOWED_CLASS = `[^${CONTROLS}]`;
const VISIBLE_CLASS = `[^${CONTROLS}${INVISIBLE}]`;

/** No control character other than newline and tab, no lone surrogate. */
export const NO_CONTROL_PATTERN = `^${ALLOWED_CLASS}*$`;
/** The same, with at least one character that is neither whitespace nor an invisible one. */
export const VISIBLE_TEXT_PATTERN = `^[${INVISIBLE}]*${VISIBLE_CLASS}${ALLOWED_CLASS}*$`;

const FORBIDDEN_CONTROL = new RegExp(`[${CONTROLS}]`, 'u');
// With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const VISIBLE = new RegExp(VISIBLE_CLASS, 'u');

export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export function hasForbiddenControl(text: string): boolean {
  return FORBIDDEN_CONTROL.test(text);
}

/** Nothing but whitespace and invisible characters (controls and lone surrogates aside). */
export function isVisiblyEmpty(text: string): boolean {
  return !VISIBLE.test(text);
}
