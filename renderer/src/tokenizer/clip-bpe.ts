/**
 * OpenAI CLIP's byte-level BPE tokenizer (`clip/simple_tokenizer.py` + `clip.tokenize`), ported
 * to give the same ids: clean the text (ftfy subset, HTML unescape, whitespace, lower case), split
 * it into words, map each word's UTF-8 bytes to printable characters, merge pairs of symbols by
 * the rank of the merge in the vocabulary file, and look the symbols up.
 * Known differences from the original are listed in `fix-text.ts` (mojibake repair).
 */
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { cleanText, splitWords } from './clip-clean.js';

const gunzipAsync = promisify(gunzip);

/** Every CLIP model reads 77 token positions. */
export const CLIP_CONTEXT_LENGTH = 77;
/** `<|startoftext|>`. */
export const SOT_ID = 49406;
/** `<|endoftext|>`. */
export const EOT_ID = 49407;

// simple_tokenizer reads lines 1 .. 49152-256-2 of the file (line 0 is a version header).
const MERGE_COUNT = 49152 - 256 - 2;
const VOCAB_SIZE = 2 * 256 + MERGE_COUNT + 2;
const SPECIAL_TOKENS = ['<|startoftext|>', '<|endoftext|>'] as const;
// The BPE result of each word is cached; a long-lived renderer sees unbounded distinct words, so
// the cache is dropped when it grows past this (results do not depend on it).
const CACHE_LIMIT = 20_000;

/** The vocabulary file is missing, unreadable, or not CLIP's BPE merges list. */
export class ClipVocabularyError extends Error {
  override readonly name = 'ClipVocabularyError';
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * `bytes_to_unicode`: byte → a printable character. Printable Latin-1 bytes stand for
 * themselves; the other 68 (controls, space, U+00A0, U+00AD) become U+0100 onwards, in order.
 */
export function bytesToUnicode(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
}

/** Vocabulary order of the byte symbols: the printable bytes first, then the others. */
function byteSymbolsInVocabOrder(byteToChar: string[]): string[] {
  const codes = byteToChar.map((c) => c.charCodeAt(0));
  const printable = codes.filter((c) => c < 256);
  const others = codes.filter((c) => c >= 256);
  return [...printable, ...others].map((c) => String.fromCharCode(c));
}

/** The merges with symbols as vocabulary ids: pair key → rank, and rank → the merged symbol's id. */
interface MergeTable {
  rank: Map<number, number>;
  merged: Uint32Array;
}

// Ids are below 2**16, so a pair packs into one exact integer key.
const pairKey = (first: number, second: number) => first * 0x10000 + second;

/** OpenAI CLIP's tokenizer. Build it with {@link ClipBpeTokenizer.load}. */
export class ClipBpeTokenizer {
  private readonly cache = new Map<string, readonly number[]>();

  private constructor(
    /** Id of each byte's symbol, and of the same symbol ending a word (`</w>`). */
    private readonly byteIds: Uint32Array,
    private readonly byteEndIds: Uint32Array,
    private readonly merges: MergeTable,
  ) {}

  /**
   * Reads `bpe_simple_vocab_16e6.txt.gz` (the file shipped with OpenAI's `clip` package).
   * @throws ClipVocabularyError when the file cannot be read or is not that vocabulary.
   */
  static async load(file: string, options: { signal?: AbortSignal } = {}): Promise<ClipBpeTokenizer> {
    let text: string;
    try {
      const gz = await readFile(file, { signal: options.signal });
      text = (await gunzipAsync(gz)).toString('utf8');
    } catch (cause) {
      if (options.signal?.aborted) throw cause;
      throw new ClipVocabularyError(
        `cannot read the CLIP vocabulary ${file}: ${(cause as Error).message}`,
        file,
        { cause },
      );
    }
    const tokenizer = ClipBpeTokenizer.fromMergesText(text, file);
    // The first text pays for compiling the Unicode regexes (~10 ms); pay it here, not in a job.
    tokenizer.tokens('Warm-up: café &amp; naïve, 🍎 一 3.14');
    return tokenizer;
  }

  /** Builds the tokenizer from the decompressed vocabulary text (`file` names it in errors). */
  static fromMergesText(text: string, file = '<memory>'): ClipBpeTokenizer {
    // Only lines 1..MERGE_COUNT are read; the file has five times as many.
    let end = -1;
    for (let n = 0; n <= MERGE_COUNT && (end = text.indexOf('\n', end + 1)) >= 0; n++);
    const head = end < 0 ? text : text.slice(0, end);
    const lines = head.split('\n');
    if (lines.length < MERGE_COUNT + 1) {
      throw new ClipVocabularyError(
        `${file} has ${lines.length} lines; CLIP's BPE vocabulary has at least ${MERGE_COUNT + 1}`,
        file,
      );
    }
    const merges = parseMerges(lines.slice(1, MERGE_COUNT + 1), !OTHER_WHITESPACE.test(head));
    const byteToChar = bytesToUnicode();
    const byteSymbols = byteSymbolsInVocabOrder(byteToChar);
    const vocab = [
      ...byteSymbols,
      ...byteSymbols.map((s) => `${s}</w>`),
      ...merges.map((m) => m.join('')),
      ...SPECIAL_TOKENS,
    ];
    // dict(zip(...)) semantics: a repeated key keeps its last index.
    const encoder = new Map<string, number>();
    vocab.forEach((symbol, id) => encoder.set(symbol, id));
    if (
      vocab.length !== VOCAB_SIZE ||
      encoder.get('<|startoftext|>') !== SOT_ID ||
      encoder.get('<|endoftext|>') !== EOT_ID
    ) {
      throw new ClipVocabularyError(`${file} does not look like CLIP's BPE vocabulary`, file);
    }
    const byteIds = Uint32Array.from(byteToChar, (c) => encoder.get(c)!);
    const byteEndIds = Uint32Array.from(byteToChar, (c) => encoder.get(`${c}</w>`)!);

    const table: MergeTable = { rank: new Map(), merged: new Uint32Array(merges.length) };
    merges.forEach((merge, rank) => {
      // A merge whose parts are not vocabulary symbols can never apply: every symbol BPE makes
      // is one (a byte, a byte ending the word, or an earlier merge's result).
      if (merge.length !== 2) return;
      const first = encoder.get(merge[0]!);
      const second = encoder.get(merge[1]!);
      if (first === undefined || second === undefined) return;
      table.rank.set(pairKey(first, second), rank); // bpe_ranks: a repeated merge keeps its last rank
      table.merged[rank] = encoder.get(merge[0]! + merge[1]!)!;
    });
    return new ClipBpeTokenizer(byteIds, byteEndIds, table);
  }

  /**
   * The row `clip.tokenize(text, truncate=True)` gives: SOT, the tokens, EOT, zero padding, always
   * `contextLength` ids. Too long a text is cut and its last id replaced by EOT.
   */
  encode(text: string, contextLength = CLIP_CONTEXT_LENGTH): number[] {
    const ids = [SOT_ID, ...this.tokens(text), EOT_ID];
    if (ids.length > contextLength) {
      ids.length = contextLength;
      ids[contextLength - 1] = EOT_ID;
    }
    while (ids.length < contextLength) ids.push(0);
    return ids;
  }

  /** The BPE ids of `text`, without SOT/EOT, padding or truncation (`SimpleTokenizer.encode`). */
  tokens(text: string): number[] {
    const ids: number[] = [];
    for (const word of splitWords(cleanText(text))) {
      for (const id of this.wordIds(word)) ids.push(id);
    }
    return ids;
  }

  private wordIds(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    // The special tokens are ASCII, which bytes_to_unicode leaves as it is, so they can be
    // recognised before byte encoding (simple_tokenizer seeds its cache with them).
    let ids: number[];
    if (word === SPECIAL_TOKENS[0]) ids = [SOT_ID];
    else if (word === SPECIAL_TOKENS[1]) ids = [EOT_ID];
    else ids = this.bpe(Buffer.from(word, 'utf8'));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /**
   * `SimpleTokenizer.bpe` on vocabulary ids: start from one symbol per UTF-8 byte (the last one
   * marked `</w>`), then repeatedly merge every occurrence, left to right, of the adjacent pair
   * whose merge ranks best, until no adjacent pair is a known merge.
   */
  private bpe(bytes: Uint8Array): number[] {
    let symbols = Array.from(bytes, (b, i) =>
      i === bytes.length - 1 ? this.byteEndIds[b]! : this.byteIds[b]!,
    );
    const { rank, merged } = this.merges;
    while (symbols.length > 1) {
      let best = Infinity;
      let bestKey = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = pairKey(symbols[i]!, symbols[i + 1]!);
        const r = rank.get(key);
        if (r !== undefined && r < best) {
          best = r;
          bestKey = key;
        }
      }
      if (bestKey < 0) break;
      const result = merged[best]!;
      const next: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && pairKey(symbols[i]!, symbols[i + 1]!) === bestKey) {
          next.push(result);
          i++;
        } else {
          next.push(symbols[i]!);
        }
      }
      symbols = next;
    }
    return symbols;
  }
}

/**
 * `tuple(merge.split())` for each line: Python splits on runs of whitespace (str.isspace) and
 * ignores it at both ends. When the only whitespace is ' ' (CLIP's file), splitting on ' ' and
 * dropping empty parts is the same thing, and much faster than a regex per line.
 */
function parseMerges(lines: string[], onlySpaces: boolean): string[][] {
  return lines.map((line) => (onlySpaces ? line.split(' ') : line.split(PY_WHITESPACE)).filter(Boolean));
}

const OTHER_WHITESPACE = /(?![ \n])[\p{White_Space}\x1c-\x1f]/u;
const PY_WHITESPACE = /[\p{White_Space}\x1c-\x1f]+/u;
