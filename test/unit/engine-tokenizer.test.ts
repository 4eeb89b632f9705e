import { describe, expect, it } from 'vitest';
import { EngineInputError } from '../../renderer/src/engine/engine.js';
import { WordsTokenizer } from '../../renderer/src/engine/words-tokenizer.js';

const vocab = ['<pad>', '<sot>', '<eot>', 'a', 'on', 'red', 'blue', 'circle', 'background'];
const tok = new WordsTokenizer(vocab, 8);

function inputError(fn: () => unknown): EngineInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngineInputError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('WordsTokenizer', () => {
  it('lower-cases, splits on non-letters and pads to the context length', () => {
    expect(tok.encode('A red, CIRCLE!')).toEqual([1, 3, 5, 7, 2, 0, 0, 0]);
    expect(tok.encode('red-circle')).toEqual([1, 5, 7, 2, 0, 0, 0, 0]);
  });

  it('names the unknown words and lists the known ones', () => {
    const err = inputError(() => tok.encode('a green hexagon on a red background'));
    expect(err.identifier).toBe('unknown-words');
    expect(err.message).toContain("'green'");
    expect(err.message).toContain("'hexagon'");
    expect(err.message).toContain('It knows: a, on, red, blue, circle, background.');
    expect(err.message).not.toContain('<sot>');
  });

  it('does not accept the special tokens as words', () => {
    expect(inputError(() => tok.encode('a sot')).identifier).toBe('unknown-words');
  });

  it('rejects a prompt with no words', () => {
    expect(inputError(() => tok.encode('123 !!!')).identifier).toBe('empty-prompt');
  });

  it('rejects more words than the context holds', () => {
    expect(inputError(() => tok.encode('a red a red a red a')).identifier).toBe('prompt-too-long');
    expect(tok.encode('a red a red a red')).toHaveLength(8);
  });

  it('requires <pad> first and <sot>/<eot> in the vocabulary', () => {
    expect(() => new WordsTokenizer(['a', '<sot>', '<eot>', 'b'], 8)).toThrow();
  });
});
