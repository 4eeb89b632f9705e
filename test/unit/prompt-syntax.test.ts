import { describe, expect, it } from 'vitest';
import { MAX_PROMPT_LENGTH, formatPromptLine, parsePromptLine } from '../../shared/src/prompt-syntax.js';

const errorOf = (line: string): string | undefined => {
  const r = parsePromptLine(line);
  return r.ok ? undefined : r.error.identifier;
};

describe('parsePromptLine', () => {
  it('parses a plain prompt with weight 1 and no stop', () => {
    expect(parsePromptLine('  a red   circle on a blue background ')).toEqual({
      ok: true,
      prompts: [{ text: 'a red circle on a blue background', weight: 1 }],
    });
  });

  it('parses text:weight:stop joined by |', () => {
    expect(parsePromptLine('a red circle:2 | a square:-0.5:0.8 | blue::-1')).toEqual({
      ok: true,
      prompts: [
        { text: 'a red circle', weight: 2 },
        { text: 'a square', weight: -0.5, stop: 0.8 },
        { text: 'blue', weight: 1, stop: -1 },
      ],
    });
  });

  it('accepts exponents and leading dots in numbers', () => {
    const r = parsePromptLine('x:.5e1');
    expect(r.ok && r.prompts[0]!.weight).toBe(5);
  });

  it.each([
    ['', 'empty-prompt'],
    ['   ', 'empty-prompt'],
    ['a red circle | ', 'empty-prompt'],
    [':2', 'empty-prompt'],
    ['a:b:c:d', 'too-many-colons'],
    ['a red circle:heavy', 'bad-weight'],
    ['a red circle:1x', 'bad-weight'],
    ['a red circle:0', 'bad-weight'],
    ['a red circle:Infinity', 'bad-weight'],
    ['a red circle:1:soon', 'bad-stop'],
    ['a red circle:-1', 'weights-not-positive'],
    ['a:1 | b:-1', 'weights-not-positive'],
    ['a|b|c|d|e|f|g|h|i', 'too-many-prompts'],
  ])('rejects %j with %s', (line, identifier) => {
    expect(errorOf(line)).toBe(identifier);
  });

  it('rejects a 10 000-character prompt with a message that gives the limit', () => {
    const r = parsePromptLine('a'.repeat(10_000));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.identifier).toBe('prompt-too-long');
      expect(r.error.message).toContain(String(MAX_PROMPT_LENGTH));
    }
  });

  it('names the segment at fault', () => {
    const r = parsePromptLine('ok | bad:x');
    expect(r.ok ? undefined : r.error.segment).toBe(1);
  });

  it('never throws, whatever the input', () => {
    for (const line of [
      '|||',
      ':::',
      '\u0000',
      'a:1e999',
      '::',
      '|',
      'ä:1',
      undefined as unknown as string,
    ]) {
      expect(() => parsePromptLine(line)).not.toThrow();
    }
  });

  it('formats parsed prompts back to the same line', () => {
    const r = parsePromptLine('a red circle | a square:-0.5:0.8 | blue:2');
    expect(r.ok && formatPromptLine(r.prompts)).toBe('a red circle | a square:-0.5:0.8 | blue:2');
  });
});
