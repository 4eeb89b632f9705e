import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { nextLargerSize, renderButtons } from '../../bot/src/core/render-buttons.js';
import { fewerSteps } from '../../bot/src/core/render-actions.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { renderPayload, type RenderFacts } from '../../bot/src/core/render-view.js';
import { toRestBody } from '../../bot/src/discord/message-port.js';
import { memoryBot, TEST_MODEL, type MemoryBot } from '../support/bot-ports.js';

const facts: RenderFacts = {
  promptText: 'a red circle',
  requesterId: '400000000000000001',
  seed: 7,
  steps: 20,
  width: 64,
  height: 64,
  quality: 'standard',
  model: 'tiny-shapes',
};
const labels = (rows: { label: string }[][] | undefined) => rows?.map((r) => r.map((b) => b.label));

describe('buttons under a render message', () => {
  it('a done render: Reroll, Variations, Zoom video; Edit, Replay, Delete (no Upscale at the largest size)', () => {
    const p = renderPayload(
      { ...facts, buttons: { jobId: 'j1', canUpscale: false } },
      { kind: 'done', image: new Uint8Array([1]), imageName: 'x.png', elapsedMs: 1 },
    );
    expect(labels(p.components)).toEqual([
      ['Reroll', 'Variations', 'Zoom video'],
      ['Edit', 'Replay', 'Delete'],
    ]);
    expect(p.components?.[0]?.[0]?.customId).toBe('tessera:v1:reroll:j1');
  });

  it('shows Upscale where the model has a larger size', () => {
    expect(labels(renderButtons({ jobId: 'j1', canUpscale: true }, 'done'))?.[0]).toEqual([
      'Reroll',
      'Variations',
      'Upscale',
      'Zoom video',
    ]);
  });

  it('a failed or cancelled render: Reroll and Edit only; a running one: none', () => {
    const b = { ...facts, buttons: { jobId: 'j1', canUpscale: true } };
    expect(labels(renderPayload(b, { kind: 'failed', reason: 'x', refunded: true }).components)).toEqual([
      ['Reroll', 'Edit'],
    ]);
    expect(labels(renderPayload(b, { kind: 'cancelled', by: 'u', refunded: true }).components)).toEqual([
      ['Reroll', 'Edit'],
    ]);
    expect(
      renderPayload(b, { kind: 'running', step: 1, total: 2, itPerSec: 1, etaMs: 1 }).components,
    ).toBeUndefined();
  });

  it('names how a child came from its parent', () => {
    const state = { kind: 'queued', position: undefined, etaMs: undefined } as const;
    const link = 'https://discord.com/channels/1/2/3';
    expect(renderPayload({ ...facts, parentLink: link }, state).embed?.description).toContain(
      `🔁 Reroll of ${link}`,
    );
    expect(
      renderPayload({ ...facts, parentLink: link, origin: 'variation' }, state).embed?.description,
    ).toContain(`🎲 Variation of ${link}`);
  });

  it('goes to Discord as action rows of buttons, and an unfinished state clears them', () => {
    const rows = renderButtons({ jobId: 'j1', canUpscale: false }, 'failed');
    const { body } = toRestBody({ content: 'x', components: rows });
    expect(body.components).toEqual([
      {
        type: 1,
        components: [
          { type: 2, style: 1, label: 'Reroll', custom_id: 'tessera:v1:reroll:j1', emoji: { name: '🔁' } },
          { type: 2, style: 2, label: 'Edit', custom_id: 'tessera:v1:edit:j1', emoji: { name: '✏️' } },
        ],
      },
    ]);
    expect(toRestBody({ content: 'x' }).body.components).toEqual([]);
  });
});

describe('sizes and steps for renders from a picture', () => {
  it('the next larger size has no smaller side and the fewest extra pixels', () => {
    const model = {
      ...TEST_MODEL,
      sizes: [
        [512, 512],
        [256, 256],
        [64, 64],
        [256, 128],
      ] as [number, number][],
    };
    expect(nextLargerSize(model, 64, 64)).toEqual([256, 128]);
    expect(nextLargerSize(model, 256, 256)).toEqual([512, 512]);
    expect(nextLargerSize(model, 512, 512)).toBeUndefined();
  });

  it('fewer steps: half, never under a quarter of the model’s default, never more than before', () => {
    expect(fewerSteps(40, TEST_MODEL)).toBe(20);
    expect(fewerSteps(10, TEST_MODEL)).toBe(10);
    expect(fewerSteps(30, TEST_MODEL)).toBe(15);
    expect(fewerSteps(20, { ...TEST_MODEL, defaultSteps: 100 })).toBe(20);
  });
});

describe('the final message of a render', () => {
  let bot: MemoryBot;
  afterEach(async () => bot?.renders.stop());

  async function finish(model = TEST_MODEL): Promise<RenderRecord> {
    bot = memoryBot({ model });
    const r: RenderRecord = {
      v: 1,
      jobId: 'j9',
      guildId: '200000000000000001',
      channelId: '300000000000000001',
      messageId: 'm-j9',
      applicationId: '600000000000000001',
      requesterId: '400000000000000001',
      requesterName: 'alice',
      params: {
        promptText: 'a red circle',
        prompts: [{ text: 'a red circle', weight: 1 }],
        seed: 7,
        steps: 20,
        cutn: 8,
        width: 64,
        height: 64,
        quality: 'standard',
        model: 'tiny-shapes',
      },
      state: 'active',
      createdAt: '2026-12-03T12:00:00.000Z',
    };
    await bot.records.put(r);
    bot.renders.track(r);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c22' } })
      .png()
      .toBuffer();
    await bot.images.put('renders/j9/attempt-1.png', new Uint8Array(png));
    await bot.renders.onEvent({
      v: 1,
      type: 'done',
      jobId: 'j9',
      at: '2026-12-03T12:00:01.000Z',
      attempt: 1,
      image: { key: 'renders/j9/attempt-1.png' },
      width: 64,
      height: 64,
      seed: 7,
      elapsedMs: 900,
    });
    return r;
  }

  it('carries the buttons, with Upscale when the bot’s model renders larger', async () => {
    await finish();
    expect(labels(bot.port.editsOf('m-j9').at(-1)?.components)?.[0]).not.toContain('Upscale');
    await bot.renders.stop();
    await finish({
      ...TEST_MODEL,
      sizes: [
        [64, 64],
        [128, 128],
      ],
    });
    expect(labels(bot.port.editsOf('m-j9').at(-1)?.components)?.[0]).toContain('Upscale');
    expect(bot.port.reactions.map((r) => r.emoji)).toContain('🔁');
  });
});
