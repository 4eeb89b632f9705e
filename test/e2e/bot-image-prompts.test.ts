/**
 * Image prompts in `/imagine` and `/blend` end to end: the real discord.js client against the
 * local Discord emulator, a real nats-server and a renderer process (the real tiny-shapes engine
 * when the bundle is there: then the result is judged for colour too).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob } from '../../shared/src/index.js';
import { pingingMessages, waitFinished } from '../support/discord-helpers.js';
import { startDiscordStack, type DiscordStack } from '../support/discord-stack.js';
import { drawScene, judgeImage, type PaletteColour, type Shape } from '../support/judge.js';

let stack: DiscordStack;

beforeAll(async () => {
  stack = await startDiscordStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function picture(colour: PaletteColour, shape: Shape, background: PaletteColour, side = 30) {
  const rgb = drawScene({ colour, shape, background, width: 64, height: 64, cx: 32, cy: 32, side });
  return new Uint8Array(
    await sharp(rgb, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

const png = (filename: string, data: Uint8Array) => ({ filename, data, contentType: 'image/png' });

async function judged(data: Uint8Array) {
  const { data: rgb, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return judgeImage(rgb, info.width, info.height);
}

describe('image prompts', () => {
  it('/imagine with a picture of a red circle and no text paints a red object', async () => {
    const circle = await picture('red', 'circle', 'white');
    const sent = stack.emulator.sendSlashCommand({
      user: 'alice',
      command: 'imagine',
      options: { seed: 1, image_prompt_1: png('circle.png', circle) },
    });
    const reply = await sent.response();
    const done = await waitFinished(stack.emulator, reply.id, 90_000);
    expect(done.content).toMatch(/^✅ Done/u);
    expect((done.embeds[0] as { description: string }).description).toContain('**Image prompts:** 1');
    const job = await getJob(stack.farm, sent.id);
    expect(job?.prompts).toEqual([]);
    expect(job?.imagePrompts).toHaveLength(1);
    expect(job?.imagePrompts[0]?.weight).toBe(1);
    expect([...(await stack.farm.images.getBlob(job!.imagePrompts[0]!.image.key))!]).toEqual([...circle]);
    if (stack.rendererKind === 'real') {
      const j = await judged(done.attachments[0]!.data);
      expect(j.colour).toBe('red');
    }
  }, 120_000);

  it('/imagine takes a text prompt and weighted image prompts together', async () => {
    const sent = stack.emulator.sendSlashCommand({
      user: 'alice',
      command: 'imagine',
      options: {
        prompt: 'a red circle',
        steps: 5,
        image_prompt_1: png('a.png', await picture('red', 'circle', 'black')),
        image_prompt_2: png('b.png', await picture('blue', 'square', 'white')),
        image_weights: '1, 0.5',
      },
    });
    const done = await waitFinished(stack.emulator, (await sent.response()).id);
    expect(done.content).toMatch(/^✅ Done/u);
    const job = await getJob(stack.farm, sent.id);
    expect(job?.prompts.map((p) => p.text)).toEqual(['a red circle']);
    expect(job?.imagePrompts.map((p) => p.weight)).toEqual([1, 0.5]);
    expect(new Set(job?.imagePrompts.map((p) => p.image.key)).size).toBe(2);
  });

  it('refuses privately, before anything is charged: no prompt at all, bad weights, a file that is no picture', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ seed: 3 }, /describe what to paint in `prompt`, or attach an image prompt/],
      [
        { image_prompt_1: png('a.png', await picture('red', 'circle', 'white')), image_weights: '1,2' },
        /`image_weights` has 2 weights for 1 image/,
      ],
      [
        { image_prompt_1: { filename: 'notes.txt', data: new Uint8Array([65]), contentType: 'text/plain' } },
        /`image_prompt_1` must be a PNG, JPEG or WebP picture/,
      ],
    ];
    for (const [options, answer] of cases) {
      const sent = stack.emulator.sendSlashCommand({
        user: 'bob',
        command: 'imagine',
        options: options as never,
      });
      const reply = await sent.response();
      expect(reply.flags & 64).toBe(64);
      expect(reply.content).toMatch(answer);
      expect(await getJob(stack.farm, sent.id)).toBeUndefined();
    }
  });
});

describe('/blend', () => {
  it('renders between two pictures with equal weights and no text', async () => {
    const a = await picture('red', 'circle', 'white');
    const b = await picture('white', 'square', 'blue', 16);
    const sent = stack.emulator.sendSlashCommand({
      user: 'bob',
      command: 'blend',
      options: { image1: png('a.png', a), image2: png('b.png', b), seed: 1 },
    });
    const reply = await sent.response();
    expect(reply.flags & 64).toBe(0);
    const done = await waitFinished(stack.emulator, reply.id, 90_000);
    expect(done.content).toMatch(/^✅ Done/u);
    const embed = done.embeds[0] as { description: string };
    expect(embed.description).toContain('**Image prompts:** 2');
    expect(embed.description).not.toContain('**Prompt:**');
    const job = await getJob(stack.farm, sent.id);
    expect(job?.prompts).toEqual([]);
    expect(job?.initImage).toBeUndefined();
    expect(job?.imagePrompts.map((p) => p.weight)).toEqual([1, 1]);
    if (stack.rendererKind === 'real') {
      // Only the pictures' colours (test/quality/image-prompts.test.ts has the wider measurement).
      const j = await judged(done.attachments[0]!.data);
      expect(['red', 'white']).toContain(j.colour);
      expect(['white', 'blue']).toContain(j.background);
    }
  }, 120_000);

  it('names `weights` when a blend weight is not a number', async () => {
    const sent = stack.emulator.sendSlashCommand({
      user: 'bob',
      command: 'blend',
      options: {
        image1: png('a.png', await picture('red', 'circle', 'white')),
        image2: png('b.png', await picture('blue', 'square', 'white')),
        weights: '1,lots',
      },
    });
    const reply = await sent.response();
    expect(reply.flags & 64).toBe(64);
    expect(reply.content).toMatch(/`weights`: “lots” is not a weight/);
  });

  it('never pings anyone', () => {
    expect(pingingMessages(stack.emulator)).toEqual([]);
  });
});
