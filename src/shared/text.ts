/**
 * Text rules shared by every text field: lengths in Unicode code points (what JSON Schema's
 * maxLength counts, and closer to what people see than UTF-16 units), no control characters
 * but newline and tab, no lone surrogates, and "empty" meaning nothing visible.
 *
 * The patterns are strings because the OpenAPI document publishes them as they are; JSON Schema
 * engines compile a pattern with the u flag, and so does this file.
 */
const CONTROL_CLASS = '[\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]';
/** No control character other than newline and tab. */
export const NO_CONTROL_PATTERN = `^(?:(?!${CONTROL_CLASS})[\\s\\S])*$`;
/** The same, with at least one character that is neither whitespace nor an invisible format one. */
export const VISIBLE_TEXT_PATTERN = `^(?=[\\s\\S]*[^\\s\\p{Cf}])(?:(?!${CONTROL_CLASS})[\\s\\S])*$`;

const FORBIDDEN_CONTROL = new RegExp(CONTROL_CLASS, 'u');
// With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
// Whitespace and format characters (zero-width spaces and joiners, BOM, direction marks).
const INVISIBLE = /[\s\p{Cf}]/gu;

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

export function isVisiblyEmpty(text: string): boolean {
  return text.replace(INVISIBLE, '') === '';
}
