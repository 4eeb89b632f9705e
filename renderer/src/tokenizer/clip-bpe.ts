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
  constructor(message: string, readonly file: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * `bytes_to_unicode`: byte → a printable character. Printable Latin-1 bytes stand for
 * themselves; the other 68 (controls, space, U+00A0, U+00AD) become U+0100 onwards, in order.
 */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
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

/** OpenAI CLIP's tokenizer. Build it with {@link ClipBpeTokenizer.load}. */
export class ClipBpeTokenizer {
  private readonly byteToChar = bytesToUnicode();
  private readonly cache = new Map<string, readonly number[]>();

  private constructor(
    private readonly encoder: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
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
      throw new ClipVocabularyError(`cannot read the CLIP vocabulary ${file}: ${(cause as Error).message}`, file, { cause });
    }
    return ClipBpeTokenizer.fromMergesText(text, file);
  }

  /** Builds the tokenizer from the decompressed vocabulary text (`file` names it in errors). */
  static fromMergesText(text: string, file = '<memory>'): ClipBpeTokenizer {
    const lines = text.split('\n');
    if (lines.length < MERGE_COUNT + 1) {
      throw new ClipVocabularyError(`${file} has ${lines.length} lines; CLIP's BPE vocabulary has at least ${MERGE_COUNT + 1}`, file);
    }
    // Python: merge.split() — splits on whitespace runs, ignoring them at both ends.
    const merges = lines.slice(1, MERGE_COUNT + 1).map((line) => line.split(/[\p{White_Space}\x1c-\x1f]+/u).filter(Boolean));
    const byteSymbols = byteSymbolsInVocabOrder(bytesToUnicode());
    const vocab = [...byteSymbols, ...byteSymbols.map((s) => `${s}</w>`), ...merges.map((m) => m.join('')), ...SPECIAL_TOKENS];
    // dict(zip(...)) semantics: a repeated key keeps its last index.
    const encoder = new Map<string, number>();
    vocab.forEach((symbol, id) => encoder.set(symbol, id));
    const ranks = new Map<string, number>();
    merges.forEach((merge, rank) => ranks.set(merge.join(' '), rank));
    if (vocab.length !== VOCAB_SIZE || encoder.get('<|endoftext|>') !== EOT_ID) {
      throw new ClipVocabularyError(`${file} does not look like CLIP's BPE vocabulary`, file);
    }
    return new ClipBpeTokenizer(encoder, ranks);
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
      for (const id of this.wordIds(this.byteEncode(word))) ids.push(id);
    }
    return ids;
  }

  private byteEncode(word: string): string {
    let out = '';
    for (const byte of Buffer.from(word, 'utf8')) out += this.byteToChar[byte];
    return out;
  }

  private wordIds(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let ids: number[];
    if (word === SPECIAL_TOKENS[0]) ids = [SOT_ID];
    else if (word === SPECIAL_TOKENS[1]) ids = [EOT_ID];
    else ids = this.bpe(word).map((symbol) => this.idOf(symbol, word));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  private idOf(symbol: string, word: string): number {
    const id = this.encoder.get(symbol);
    // Every byte symbol and every merge product is in the vocabulary, so this cannot happen
    // with CLIP's file; a hand-edited one could break it.
    if (id === undefined) throw new ClipVocabularyError(`symbol '${symbol}' of word '${word}' is not in the vocabulary`, '<loaded>');
    return id;
  }

  /**
   * `SimpleTokenizer.bpe`: start from single characters (the last one marked `</w>`), then
   * repeatedly merge every occurrence, left to right, of the adjacent pair whose merge ranks
   * best, until no adjacent pair is a known merge.
   */
  private bpe(word: string): string[] {
    let symbols = Array.from(word);
    symbols[symbols.length - 1] += '</w>';
    while (symbols.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = symbols[i]!;
          second = symbols[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === first && symbols[i + 1] === second && i + 1 < symbols.length) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}
