/**
 * The part of `ftfy.fix_text` (ftfy 6.3, default settings) that CLIP's tokenizer relies on for
 * ordinary text, in ftfy's order: per line, repeated until nothing changes,
 *   unescape_html → fix_c1_controls → fix_latin_ligatures → fix_character_width →
 *   uncurl_quotes → fix_line_breaks → fix_surrogates → remove_terminal_escapes →
 *   remove_control_chars → NFC.
 *
 * What differs from ftfy, precisely:
 * - **No mojibake repair** (`fix_encoding` and its helpers `restore_byte_a0`,
 *   `replace_lossy_sequences`, `decode_inconsistent_utf8`). ftfy runs them only on a line that
 *   its badness heuristic (`ftfy.badness.is_bad`) flags, i.e. text that looks like UTF-8 decoded
 *   as Latin-1/Windows-125x/MacRoman/CP437 ("cafÃ©", "â€œquotedâ€\u009d", "Ã\u00a0"). ftfy
 *   would re-decode such a line ("café", "“quoted”"); here it is tokenized as typed, so its ids
 *   differ. Lines that are ASCII or not flagged — everything people normally type — are unaffected.
 * - Unicode tables are Node's (Node 20.20: Unicode 17) rather than the Python's that ran the
 *   original: NFC, the NFKC forms behind the width map, and (in the tokenizer) lower-casing and
 *   the regex classes. They agree on every character both versions know (checked one by one for
 *   all 282,230 characters Python 3.11's Unicode 14 assigns); they differ only on characters one
 *   side has not heard of. Measured: 55 capitals added in Unicode 15–16 (U+A7CB, U+1C89, the
 *   Garay script …) that Node lower-cases and Python 3.11 does not, and ~12,800 code points
 *   assigned after Unicode 17 that the `regex` 2026.9 module already calls letters or numbers.
 * - ftfy cuts lines longer than 1,000,000 code points into pieces; here a line is never cut.
 *   Prompts are far shorter, and the cut only matters for an entity split across it.
 */
import { htmlUnescape, namedEntity, entityNames, WINDOWS_1252_C1 } from './html-unescape.js';

/** Applies the ftfy fixes listed above to `text`, line by line as `ftfy.fix_text` does. */
export function fixText(text: string): string {
  // ftfy decodes entities unless the line has a '<' (then it may be HTML source); once one line
  // has a '<', it stops decoding for every later line too (its config is replaced in the loop).
  let decodeEntities = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos) + 1;
    if (end === 0) end = text.length;
    const segment = text.slice(pos, end);
    if (decodeEntities && segment.includes('<')) decodeEntities = false;
    out += fixSegment(segment, decodeEntities);
    pos = end;
  }
  return out;
}

function fixSegment(segment: string, decodeEntities: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (decodeEntities) text = unescapeHtml(text);
    text = text.replace(C1_CONTROL, (c) => WINDOWS_1252_C1.charAt(c.charCodeAt(0) - 0x80));
    text = text.replace(LIGATURE, (c) => LIGATURES[c] ?? c);
    text = text.replace(WIDE_OR_NARROW, (c) => WIDTH_MAP.get(c) ?? c);
    text = text.replace(DOUBLE_QUOTE, '"').replace(SINGLE_QUOTE, "'");
    text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
    text = text.replace(LONE_SURROGATE, '\ufffd');
    text = text.replace(TERMINAL_ESCAPE, '');
    text = text.replace(CONTROL_CHAR, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

// ftfy's unescape_html: only references that end in ';', plus upper-cased names of entities
// whose name is all lower case ("P&EACUTE;REZ" → "PÉREZ") where that spelling means nothing else.
const HTML_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
const FTFY_ENTITIES = buildFtfyEntities();

function buildFtfyEntities(): Map<string, string> {
  const entities = new Map<string, string>();
  for (const name of entityNames()) {
    if (!name.endsWith(';')) continue;
    const char = namedEntity(name) ?? '';
    entities.set(`&${name}`, char);
    if (name === name.toLowerCase()) {
      const upper = `&${name.toUpperCase()}`;
      if (htmlUnescape(upper) === upper) entities.set(upper, char.toUpperCase());
    }
  }
  return entities;
}

function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(HTML_ENTITY, (ref) => {
    const known = FTFY_ENTITIES.get(ref);
    if (known !== undefined) return known;
    if (ref.startsWith('&#')) {
      const decoded = htmlUnescape(ref);
      // html.unescape may decode only a prefix ("&#65x;"); ftfy wants the ';' consumed too.
      return decoded.includes(';') ? ref : decoded;
    }
    return ref;
  });
}

const C1_CONTROL = /[\x80-\x9f]/g;

const LIGATURES: Readonly<Record<string, string>> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

// Halfwidth and fullwidth forms → their NFKC form, and the ideographic space → ' ', as ftfy's
// WIDTH_MAP is built.
const WIDE_OR_NARROW = /[\u3000\uff01-\uffef]/g;
const WIDTH_MAP = buildWidthMap();

function buildWidthMap(): Map<string, string> {
  const map = new Map<string, string>([['\u3000', ' ']]);
  for (let cp = 0xff01; cp < 0xfff0; cp++) {
    const char = String.fromCharCode(cp);
    const alternate = char.normalize('NFKC');
    if (alternate !== char) map.set(char, alternate);
  }
  return map;
}

const SINGLE_QUOTE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE = /[\u201c-\u201f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Python's `\d` in a str pattern is any decimal digit, not only ASCII.
const TERMINAL_ESCAPE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
const CONTROL_CHAR = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
