/**
 * Making user text safe to process and to show: prompts arrive from anyone and are echoed back
 * into a public channel. Pure functions, no Discord types.
 */

// C0/C1 control characters except tab/newline (those become spaces).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
// Bidi embeddings/overrides/isolates and marks: they can make the echoed text read backwards.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Zero-width and other invisible formatting characters used to dodge filters.
const INVISIBLE = /[\u200b-\u200d\u2060-\u2064\ufeff\u00ad]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Combining marks beyond this many on one base character are "zalgo" and dropped. */
const MAX_MARKS_PER_CHAR = 2;

export interface CleanText {
  text: string;
  /** What was removed, for a reply that says why the text looks different. */
  removed: { control: number; bidi: number; invisible: number; surrogates: number; marks: number };
}

/**
 * Normalises user text: lone surrogates, control, bidi and invisible characters removed,
 * stacks of combining marks capped, whitespace collapsed, NFC.
 */
export function cleanUserText(input: string): CleanText {
  const removed = { control: 0, bidi: 0, invisible: 0, surrogates: 0, marks: 0 };
  let s = input.replace(LONE_SURROGATE, () => (removed.surrogates++, ''));
  s = s.replace(/[\t\n\r]/g, ' ');
  s = s.replace(CONTROL, () => (removed.control++, ''));
  s = s.replace(BIDI, () => (removed.bidi++, ''));
  s = s.replace(INVISIBLE, () => (removed.invisible++, ''));
  s = s.normalize('NFC');
  s = s.replace(/(\P{M})(\p{M}+)/gu, (_m, base: string, marks: string) => {
    const list = [...marks];
    if (list.length <= MAX_MARKS_PER_CHAR) return base + marks;
    removed.marks += list.length - MAX_MARKS_PER_CHAR;
    return base + list.slice(0, MAX_MARKS_PER_CHAR).join('');
  });
  // Marks with no base character at the start.
  s = s.replace(/^\p{M}+/u, (m) => ((removed.marks += [...m].length), ''));
  s = s.replace(/\s+/g, ' ').trim();
  return { text: s, removed };
}

/**
 * Text for a Discord message or embed: markdown and mentions neutralised (the reply also sends
 * `allowedMentions: { parse: [] }`; this keeps `@everyone` from even looking like a ping), and
 * cut to `max` characters on a code-point boundary.
 */
export function displayText(input: string, max: number): string {
  const escaped = input
    .replace(/@(everyone|here)/g, '@\u200b$1')
    .replace(/<(@[!&]?|#)(\d+)>/g, '<$1\u200b$2>')
    .replace(/([\\*_~`|[\]()])/g, '\\$1')
    // Quote, heading and list markers only mean something at the start of a line.
    .replace(/^([>#-])/, '\\$1');
  const chars = [...escaped];
  if (chars.length <= max) return escaped;
  let cut = chars.slice(0, Math.max(0, max - 1)).join('');
  // Never end on a dangling escape backslash.
  if (/(^|[^\\])(\\\\)*\\$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
