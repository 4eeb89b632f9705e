/**
 * `/blend image1 image2 [image3] [image4] [weights] [seed] [steps] [size]`: a render between 2–4
 * pictures. It is `/imagine` with image prompts only (equal weights unless `weights` says
 * otherwise), so it goes through the very same checks, quota, moderation and `startRender`.
 *
 * The render starts from noise, not from the first picture or a pixel average of them: on
 * tiny-shapes a pixel-average start pulled every render to the averaged colours (a red circle on
 * white + a yellow triangle on blue gave "white on blue" three seeds out of three), while a noise
 * start takes from each picture (the object of one, the background of the other).
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from './context.js';
import { attachmentOption, runImagine } from './imagine-command.js';

export const BLEND_IMAGE_OPTIONS = ['image1', 'image2', 'image3', 'image4'];
export const MIN_BLEND_IMAGES = 2;

/** `/blend`'s options as `/imagine` options (no text prompt, the pictures as image prompts). */
export function blendOptions(
  images: readonly ({ option: string } & Record<string, unknown>)[],
  o: { weights?: string; seed?: number; steps?: number; size?: string },
): unknown {
  return {
    seed: o.seed,
    steps: o.steps,
    size: o.size,
    imagePrompts: images,
    imageWeights: o.weights,
  };
}

export async function handleBlend(i: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const images = BLEND_IMAGE_OPTIONS.map((o) => attachmentOption(i, o)).filter((a) => a !== undefined);
  if (images.length < MIN_BLEND_IMAGES) {
    await i.reply({
      content: `🙅 \`/blend\` needs at least ${MIN_BLEND_IMAGES} pictures (\`image1\` and \`image2\`).`,
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    });
    return;
  }
  const pick = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  const raw = blendOptions(images, {
    weights: pick(i.options.getString('weights')),
    seed: pick(i.options.getInteger('seed')),
    steps: pick(i.options.getInteger('steps')),
    size: pick(i.options.getString('size')),
  });
  await runImagine(i, ctx, { raw, command: 'blend', weightsOption: 'weights' });
}
