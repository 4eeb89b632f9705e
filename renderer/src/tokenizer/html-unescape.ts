/**
 * Python's `html.unescape`, rule for rule (CPython `Lib/html/__init__.py`): numeric references
 * with or without `;`, the HTML5 table of named references including the legacy names that need
 * no `;`, and the "longest known prefix" rule for unknown names (`&notit;` → `¬it;`).
 * CLIP's tokenizer applies it twice to every prompt, so any difference here changes token ids.
 */
import { HTML5_ENTITIES } from './html5-entities.js';

/** What bytes 0x80–0x9F mean in Windows-1252; the five it leaves undefined map to themselves. */
export const WINDOWS_1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

const ENTITIES = new Map<string, string>(Object.entries(HTML5_ENTITIES));

// Python's `_charref`; `[^\t\n\f <&#;]{1,32}` counts code points there, hence the `u` flag.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** `html.entities.html5[name]` (names carry their `;` where they have one). */
export function namedEntity(name: string): string | undefined {
  return ENTITIES.get(name);
}

/** Every name of the HTML5 table, as `html.entities.html5` has them. */
export function entityNames(): IterableIterator<string> {
  return ENTITIES.keys();
}

/** Decodes character references exactly as Python's `html.unescape` does. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (_match, ref: string) => replaceCharref(ref));
}

function replaceCharref(ref: string): string {
  if (ref[0] === '#') return numericCharref(ref);
  const known = ENTITIES.get(ref);
  if (known !== undefined) return known;
  // The longest prefix of at least two code points that names an entity wins; the rest stays.
  const points = Array.from(ref);
  for (let x = points.length - 1; x > 1; x--) {
    const prefix = ENTITIES.get(points.slice(0, x).join(''));
    if (prefix !== undefined) return prefix + points.slice(x).join('');
  }
  return `&${ref}`;
}

function numericCharref(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
  // Python's int() is exact; a float past 2**53 is still far above 0x10FFFF, so the checks agree.
  const num = Number.parseInt(digits, hex ? 16 : 10);
  if (num === 0x00) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return WINDOWS_1252_C1.charAt(num - 0x80);
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(num)) return '';
  return String.fromCodePoint(num);
}

/** Python's `_invalid_codepoints`: controls and non-characters that a reference may not produce. */
function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x01 && cp <= 0x08) ||
    cp === 0x0b ||
    (cp >= 0x0e && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF of every plane
  );
}
