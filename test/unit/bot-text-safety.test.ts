import { describe, expect, it } from 'vitest';
import { cleanUserText, displayText } from '../../bot/src/core/text-safety.js';

describe('cleanUserText', () => {
  it('removes control characters, bidi overrides and invisible characters', () => {
    const r = cleanUserText('a\u0000 red\u202e circle\u200b\u0007');
    expect(r.text).toBe('a red circle');
    expect(r.removed.control).toBe(2);
    expect(r.removed.bidi).toBe(1);
    expect(r.removed.invisible).toBe(1);
  });

  it('drops lone surrogates but keeps real emoji', () => {
    const r = cleanUserText('red \ud800 disc 🎨 \udc00');
    expect(r.text).toBe('red disc 🎨');
    expect(r.removed.surrogates).toBe(2);
  });

  it('caps zalgo stacks of combining marks', () => {
    const zalgo = 'r' + '\u0301\u0302\u0303\u0304\u0305\u0306' + 'ed';
    const r = cleanUserText(zalgo);
    expect([...r.text].length).toBe(5);
    expect(r.removed.marks).toBe(3); // NFC folds the first mark into ŕ
  });

  it('collapses whitespace and newlines', () => {
    expect(cleanUserText('  a\n\n\tblue   square ').text).toBe('a blue square');
  });
});

describe('displayText', () => {
  it('neutralises mentions and markdown', () => {
    const s = displayText('@everyone **bold** <@123456789012345678> <@&123456789012345678>', 200);
    expect(s).not.toMatch(/@everyone/);
    expect(s).not.toMatch(/<@\d/);
    expect(s).not.toMatch(/<@&\d/);
    expect(s).toContain('\\*\\*bold\\*\\*');
  });

  it('cuts long text on a code point boundary with an ellipsis', () => {
    const s = displayText('🎨'.repeat(100), 10);
    expect([...s].length).toBe(10);
    expect(s.endsWith('…')).toBe(true);
    expect(s).not.toMatch(/[\ud800-\udbff]…$/);
  });
});
