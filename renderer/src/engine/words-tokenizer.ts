/**
 * The tiny-shapes word tokenizer of models/BUNDLE.md: lower-case, split on anything that is
 * not a–z, [sot, …ids, eot] right-padded with 0 to the context length.
 */
import { z } from 'zod';
import { EngineInputError } from './engine.js';

export interface TextTokenizer {
  readonly contextLength: number;
  /** Token ids, exactly `contextLength` of them. @throws EngineInputError */
  encode(text: string): number[];
}

const SPECIAL = new Set(['<pad>', '<sot>', '<eot>']);
export const WordsVocab = z.object({ tokens: z.array(z.string()).min(4) });

export class WordsTokenizer implements TextTokenizer {
  readonly #ids: Map<string, number>;
  readonly #sot: number;
  readonly #eot: number;

  constructor(
    tokens: readonly string[],
    readonly contextLength: number,
  ) {
    this.#ids = new Map(tokens.map((t, i) => [t, i]));
    const sot = this.#ids.get('<sot>');
    const eot = this.#ids.get('<eot>');
    if (tokens[0] !== '<pad>' || sot === undefined || eot === undefined) {
      throw new Error('words vocabulary must start with <pad> and contain <sot> and <eot>');
    }
    this.#sot = sot;
    this.#eot = eot;
  }

  /** The words a prompt may use, in vocabulary order. */
  get knownWords(): string[] {
    return [...this.#ids.keys()].filter((t) => !SPECIAL.has(t));
  }

  encode(text: string): number[] {
    const words = text
      .toLowerCase()
      .split(/[^a-z]+/)
      .filter((w) => w !== '');
    if (words.length === 0)
      throw new EngineInputError(`The prompt ${JSON.stringify(text)} has no words.`, 'empty-prompt');
    const unknown = [...new Set(words.filter((w) => !this.#ids.has(w) || SPECIAL.has(w)))];
    if (unknown.length) {
      throw new EngineInputError(
        `This model does not know the word${unknown.length > 1 ? 's' : ''} ${unknown.map((w) => `'${w}'`).join(', ')}. ` +
          `It knows: ${this.knownWords.join(', ')}.`,
        'unknown-words',
      );
    }
    const max = this.contextLength - 2;
    if (words.length > max) {
      throw new EngineInputError(
        `The prompt has ${words.length} words; this model reads at most ${max}.`,
        'prompt-too-long',
      );
    }
    const ids = [this.#sot, ...words.map((w) => this.#ids.get(w)!), this.#eot];
    while (ids.length < this.contextLength) ids.push(0);
    return ids;
  }
}
