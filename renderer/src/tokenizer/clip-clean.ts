/**
 * Text preparation of OpenAI CLIP's `simple_tokenizer.py`, and the regex that splits the result
 * into words: `whitespace_clean(basic_clean(text)).lower()` then `re.findall(pat, text)`.
 */
import { fixText } from './fix-text.js';
import { htmlUnescape } from './html-unescape.js';

// Python's str.strip() strips str.isspace() characters: Unicode White_Space plus U+001C–U+001F.
const PY_STRIP = /^[\p{White_Space}\x1c-\x1f]+|[\p{White_Space}\x1c-\x1f]+$/gu;
// The `regex` module's `\s` is exactly Unicode White_Space (JS `\s` adds U+FEFF, lacks U+0085).
const WHITESPACE_RUN = /\p{White_Space}+/gu;

/** `basic_clean`: ftfy, `html.unescape` twice, strip. */
export function basicClean(text: string): string {
  return htmlUnescape(htmlUnescape(fixText(text))).replace(PY_STRIP, '');
}

/** `whitespace_clean`: every run of whitespace becomes one space, then strip. */
export function whitespaceClean(text: string): string {
  return text.replace(WHITESPACE_RUN, ' ').replace(PY_STRIP, '');
}

/** What CLIP tokenizes: `whitespace_clean(basic_clean(text)).lower()`. */
export function cleanText(text: string): string {
  return whitespaceClean(basicClean(text)).toLowerCase();
}

/**
 * CLIP's split pattern, `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|
 * [\p{N}]|[^\s\p{L}\p{N}]+` compiled with `regex.IGNORECASE`, written for already lower-cased
 * text without JS's `i` flag, whose case folding differs from the `regex` module's:
 * - under IGNORECASE, `s` also matches U+017F LATIN SMALL LETTER LONG S (lower case, so it
 *   survives `.lower()`), hence `[sſ]`; no other letter of the pattern has such a twin;
 * - under IGNORECASE, U+0345 COMBINING GREEK YPOGEGRAMMENI (which folds to ι) is excluded from
 *   `[^\s\p{L}\p{N}]` yet not matched by `[\p{L}]`, so Python drops it; JS's `iu` would glue it
 *   to the letters around it instead;
 * - `\s` is `\p{White_Space}`, as above.
 * Characters no alternative matches (whitespace, U+0345) are skipped, as `re.findall` skips them.
 */
export const CLIP_SPLIT =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: U+0345 is excluded on its own, as CLIP's regex excludes it
  /<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}\u0345]+/gu;

/** The words of cleaned text, as `re.findall(pat, text)` returns them. */
export function splitWords(cleaned: string): string[] {
  return cleaned.match(CLIP_SPLIT) ?? [];
}
