import { describe, expect, it } from 'vitest';
import { defaultGuildSettings } from '../../bot/src/core/guild-settings.js';
import { validateImagine, type ModelFacts } from '../../bot/src/core/imagine-request.js';
import { resolveQuality } from '../../bot/src/core/presets.js';

const model: ModelFacts = {
  name: 'tiny-shapes',
  sizes: [[64, 64]],
  defaultSize: [64, 64],
  defaultSteps: 100,
  defaultCutn: 16,
  maxSteps: 1000,
};
const ctx = (over: Partial<ReturnType<typeof defaultGuildSettings>> = {}) => ({
  model,
  settings: { ...defaultGuildSettings(), ...over },
  channelId: '100000000000000001',
  randomSeed: () => 42,
});

describe('validateImagine', () => {
  it('accepts a plain prompt with model defaults and a random seed', () => {
    const r = validateImagine({ prompt: 'a red circle' }, ctx());
    expect(r).toMatchObject({
      ok: true,
      value: {
        promptText: 'a red circle',
        seed: 42,
        steps: 100,
        cutn: 16,
        width: 64,
        height: 64,
        prompts: [{ text: 'a red circle', weight: 1 }],
      },
    });
  });

  it('turns avoid into negative prompts whose weights keep the sum positive', () => {
    const r = validateImagine({ prompt: 'a red circle', avoid: 'blue | square' }, ctx());
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.prompts.map((p) => p.weight)).toEqual([1, -0.25, -0.25]);
    expect(r.value.avoidText).toBe('blue | square');
  });

  it.each([
    ['6000 characters', 'x'.repeat(6000), 'prompt-too-long'],
    ['only control characters', '\u0000\u0001\u200b\u202e', 'prompt-empty'],
    ['broken syntax', 'a:b:c:d', 'prompt-syntax'],
    ['weights summing to zero', 'red:1|blue:-1', 'prompt-syntax'],
  ])('refuses %s with a stable identifier', (_name, prompt, identifier) => {
    const r = validateImagine({ prompt }, ctx());
    expect(r).toMatchObject({ ok: false, error: { identifier } });
    if (!r.ok) expect(r.error.message.length).toBeGreaterThan(10);
  });

  it('cleans hostile but renderable prompts instead of refusing them', () => {
    const r = validateImagine({ prompt: '\u202ea red\u0000 circle\ud800 @everyone' }, ctx());
    expect(r).toMatchObject({ ok: true, value: { promptText: 'a red circle @everyone', cleaned: true } });
  });

  it('applies server settings: channels, banned words, steps, size', () => {
    expect(validateImagine({ prompt: 'x' }, ctx({ allowedChannels: ['200000000000000002'] }))).toMatchObject({
      ok: false,
      error: { identifier: 'channel-not-allowed' },
    });
    expect(validateImagine({ prompt: 'a Gory red disc' }, ctx({ bannedWords: ['gory'] }))).toMatchObject({
      ok: false,
      error: { identifier: 'banned-words' },
    });
    expect(validateImagine({ prompt: 'x', steps: 500 }, ctx({ maxSteps: 200 }))).toMatchObject({
      ok: false,
      error: { identifier: 'too-many-steps' },
    });
    expect(validateImagine({ prompt: 'x', quality: 'fine' }, ctx({ maxSteps: 150 }))).toMatchObject({
      ok: false,
      error: { identifier: 'too-many-steps' },
    });
    expect(validateImagine({ prompt: 'x', size: '512x512' }, ctx())).toMatchObject({
      ok: false,
      error: { identifier: 'size-not-supported' },
    });
    expect(validateImagine({ prompt: 'x', size: '64x64' }, ctx({ maxSize: 32 }))).toMatchObject({
      ok: false,
      error: { identifier: 'size-too-large' },
    });
  });

  it('checks the init image type and size', () => {
    const initImage = {
      url: 'http://127.0.0.1/a.gif',
      filename: 'a.gif',
      contentType: 'image/gif',
      size: 10,
    };
    expect(validateImagine({ prompt: 'x', initImage }, ctx())).toMatchObject({
      ok: false,
      error: { identifier: 'init-image-invalid' },
    });
    const ok = validateImagine({ prompt: 'x', initImage: { ...initImage, contentType: 'image/png' } }, ctx());
    expect(ok.ok).toBe(true);
  });
});

describe('quality presets', () => {
  it('scale the model defaults and yield to explicit steps', () => {
    expect(resolveQuality({ steps: 100, cutn: 16 }, 'draft')).toEqual({ steps: 50, cutn: 8 });
    expect(resolveQuality({ steps: 100, cutn: 16 }, 'fine')).toEqual({ steps: 200, cutn: 24 });
    expect(resolveQuality({ steps: 100, cutn: 16 }, 'fine', 30)).toEqual({ steps: 30, cutn: 24 });
  });
});

describe('validateImagine refusals of out-of-range options', () => {
  const refusal = (raw: Record<string, unknown>, over = {}) => {
    const r = validateImagine({ prompt: 'a red circle', ...raw }, ctx(over));
    if (r.ok) throw new Error('expected a refusal');
    return r.error;
  };

  it('names `steps` and the range this server allows', () => {
    expect(refusal({ steps: 0 })).toMatchObject({
      identifier: 'invalid-options',
      option: 'steps',
      message: '`steps` must be between 1 and 1000.',
    });
    expect(refusal({ steps: 20_000 }, { maxSteps: 200 }).message).toBe('`steps` must be between 1 and 200.');
    expect(refusal({ steps: 300 }, { maxSteps: 200 })).toMatchObject({
      identifier: 'too-many-steps',
      option: 'steps',
    });
    expect(refusal({ steps: 300 }, { maxSteps: 200 }).message).toContain('`steps` must be between 1 and 200');
  });

  it('names `seed`, `quality` and `avoid` with what they accept', () => {
    expect(refusal({ seed: 2 ** 32 }).message).toBe(
      '`seed` must be a whole number between 0 and 4294967295.',
    );
    expect(refusal({ quality: 'ultra' }).message).toMatch(/^`quality` must be one of draft, /);
    expect(refusal({ avoid: 'x'.repeat(7000) }).message).toBe('`avoid` may be at most 6000 characters long.');
  });

  it('never answers with the vague “not understood”', () => {
    for (const raw of [{ steps: -3 }, { seed: 1.5 }, { size: 'x'.repeat(30) }, { quality: 'max' }]) {
      expect(refusal(raw).message).not.toMatch(/not understood/);
    }
  });
});
