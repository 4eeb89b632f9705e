import { describe, expect, it } from 'vitest';
import { defaultGuildSettings } from '../../bot/src/core/guild-settings.js';
import { checkImagePrompts, parseImageWeights } from '../../bot/src/core/image-prompts.js';
import { validateImagine, type ModelFacts } from '../../bot/src/core/imagine-request.js';
import { blendOptions } from '../../bot/src/discord/blend-command.js';
import { imagineCommand, replayText } from '../../bot/src/core/replay.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { jobInput } from '../../bot/src/render-job.js';
import { RenderJob } from '../../shared/src/index.js';

const model: ModelFacts = {
  name: 'tiny-shapes',
  sizes: [[64, 64]],
  defaultSize: [64, 64],
  defaultSteps: 100,
  defaultCutn: 16,
  maxSteps: 1000,
};
const ctx = {
  model,
  settings: defaultGuildSettings(),
  channelId: '100000000000000001',
  randomSeed: () => 42,
};
const image = (option: string, over: Record<string, unknown> = {}) => ({
  url: `https://cdn.example/${option}.png`,
  filename: `${option}.png`,
  contentType: 'image/png',
  size: 1000,
  option,
  ...over,
});

describe('image prompt weights', () => {
  it('gives every image weight 1 unless the string says otherwise, in order', () => {
    expect(parseImageWeights(undefined, 3, 'w')).toEqual({ ok: true, value: [1, 1, 1] });
    expect(parseImageWeights(' 2, 0.5 ', 3, 'w')).toEqual({ ok: true, value: [2, 0.5, 1] });
    expect(parseImageWeights('-1;.25', 2, 'w')).toEqual({ ok: true, value: [-1, 0.25] });
  });

  it('refuses more weights than images, words, zero and out-of-range weights, naming the option', () => {
    for (const raw of ['1,1,1', 'abc', '0', '11', '1e3', 'NaN']) {
      const r = parseImageWeights(raw, 2, 'image_weights');
      expect(r.ok, raw).toBe(false);
      if (!r.ok) {
        expect(r.error.identifier).toBe('image-weights-invalid');
        expect(r.error.message).toContain('`image_weights`');
      }
    }
  });

  it('refuses a non-picture or an over-size attachment with the option it came from', () => {
    const r = checkImagePrompts(
      [image('image1'), image('image2', { contentType: 'text/plain' })],
      undefined,
      'w',
    );
    expect(r).toMatchObject({ ok: false, error: { identifier: 'image-prompt-invalid', option: 'image2' } });
    const big = checkImagePrompts([image('image1', { size: 9 * 1024 * 1024 })], undefined, 'w');
    expect(big).toMatchObject({ ok: false, error: { option: 'image1' } });
    if (!big.ok) expect(big.error.message).toMatch(/too large/);
  });
});

describe('validateImagine with image prompts', () => {
  it('accepts image prompts without a text prompt', () => {
    const r = validateImagine({ imagePrompts: [image('image_prompt_1')], imageWeights: '2' }, ctx);
    expect(r).toMatchObject({
      ok: true,
      value: { promptText: '', prompts: [], imagePrompts: [{ weight: 2 }] },
    });
  });

  it('refuses when there is neither a text prompt nor an image prompt with positive weight', () => {
    expect(validateImagine({}, ctx)).toMatchObject({ ok: false, error: { identifier: 'prompt-empty' } });
    const negative = validateImagine({ imagePrompts: [image('image_prompt_1')], imageWeights: '-1' }, ctx);
    expect(negative).toMatchObject({ ok: false, error: { identifier: 'prompt-empty' } });
  });

  it('weighs avoid against the image prompts too (an image-only render can avoid words)', () => {
    const r = validateImagine({ imagePrompts: [image('image_prompt_1')], avoid: 'blue' }, ctx);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.prompts).toEqual([{ text: 'blue', weight: -0.5 }]);
  });

  it('turns /blend into image prompts with equal weights and names its own weights option', () => {
    const raw = blendOptions([image('image1'), image('image2')], { seed: 7 });
    const r = validateImagine(raw, { ...ctx, weightsOption: 'weights' });
    expect(r).toMatchObject({ ok: true, value: { seed: 7, imagePrompts: [{ weight: 1 }, { weight: 1 }] } });
    const bad = validateImagine(blendOptions([image('image1'), image('image2')], { weights: 'x' }), {
      ...ctx,
      weightsOption: 'weights',
    });
    expect(bad).toMatchObject({ ok: false, error: { option: 'weights' } });
  });
});

const imageRecord: RenderRecord = {
  v: 1,
  jobId: '500000000000000001',
  guildId: '200000000000000001',
  channelId: '300000000000000001',
  messageId: '700000000000000001',
  applicationId: '600000000000000001',
  requesterId: '400000000000000001',
  requesterName: 'alice',
  params: {
    promptText: '',
    prompts: [],
    imagePrompts: [
      { key: 'inputs/500000000000000001/prompt-1-a.png', weight: 1 },
      { key: 'inputs/500000000000000001/prompt-2-b.png', weight: 0.5 },
    ],
    seed: 1,
    steps: 10,
    cutn: 8,
    width: 64,
    height: 64,
    quality: 'standard',
    model: 'tiny-shapes',
  },
  state: 'active',
  createdAt: new Date(0).toISOString(),
};

describe('the job of an image-prompt render', () => {
  it('carries the image prompt keys and weights and satisfies the contract without text prompts', () => {
    const input = jobInput(imageRecord, undefined, { username: 'alice' });
    const job = RenderJob.parse(input);
    expect(job.imagePrompts).toEqual([
      { image: { key: 'inputs/500000000000000001/prompt-1-a.png' }, weight: 1 },
      { image: { key: 'inputs/500000000000000001/prompt-2-b.png' }, weight: 0.5 },
    ]);
  });
});

describe('Replay of an image-prompt render', () => {
  it('names the image prompt options and weights and says the pictures must be attached again', () => {
    expect(imagineCommand(imageRecord)).toBe(
      '/imagine seed:1 steps:10 size:64x64 quality:standard image_prompt_1:(picture 1) image_prompt_2:(picture 2) image_weights:1,0.5',
    );
    const text = replayText([{ record: imageRecord, link: 'l' }], undefined);
    expect(text).toContain('Image prompts: 2 uploaded pictures');
  });
});
