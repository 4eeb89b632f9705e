/**
 * Image prompts (`/imagine image_prompt_1..4`, `/blend image1..4`): the attachment checks shared
 * with the init image (type and size, from what Discord says about the file) and the weights
 * string (`"1,0.5"`). Pure: refusals come back as values with a stable identifier.
 */
import { z } from 'zod';

/** Largest attachment accepted as an init image or image prompt. */
export const MAX_INPUT_IMAGE_BYTES = 8 * 1024 * 1024;
/** Image prompts one render may have (the `RenderJob` contract's limit). */
export const MAX_IMAGE_PROMPTS = 4;
/** Largest absolute image prompt weight (the contract allows 100; beyond 10 nothing changes visibly). */
export const MAX_IMAGE_WEIGHT = 10;

/** An attachment as discord.js describes it (before any checks). */
export const AttachmentOption = z.object({
  url: z.url(),
  filename: z.string().max(256),
  contentType: z.string().max(100).nullable(),
  size: z.number().int().nonnegative(),
});
export type AttachmentOption = z.infer<typeof AttachmentOption>;

/** A checked attachment: a PNG, JPEG or WebP picture within the size limit. */
export interface InputImage {
  url: string;
  filename: string;
  contentType: string;
  size: number;
}

/** A checked image prompt: the picture and its weight. */
export interface ImagePromptInput extends InputImage {
  weight: number;
}

export type ImageInputRefusalId = 'init-image-invalid' | 'image-prompt-invalid' | 'image-weights-invalid';

export interface ImageInputRefusal {
  identifier: ImageInputRefusalId;
  message: string;
  option: string;
}

type Checked<T> = { ok: true; value: T } | { ok: false; error: ImageInputRefusal };

/**
 * Checks one attachment: its type and size as Discord reports them. The bytes are checked again
 * when downloaded (size) and by the renderer (that they decode).
 */
export function checkInputImage(
  a: AttachmentOption,
  option: string,
  what: string,
  identifier: ImageInputRefusalId,
): Checked<InputImage> {
  const type = a.contentType ?? '';
  if (!/^image\/(png|jpeg|webp)$/.test(type)) {
    return {
      ok: false,
      error: { identifier, option, message: `${what} must be a PNG, JPEG or WebP picture.` },
    };
  }
  if (a.size > MAX_INPUT_IMAGE_BYTES) {
    const message = `${what} is too large (${Math.round(a.size / 1024)} KiB; at most ${MAX_INPUT_IMAGE_BYTES / 1024 / 1024} MiB).`;
    return { ok: false, error: { identifier, option, message } };
  }
  return { ok: true, value: { url: a.url, filename: a.filename, contentType: type, size: a.size } };
}

/**
 * `"1, 0.5"` → one weight per image prompt, in order; images without a weight get 1. Refuses
 * more weights than images, non-numbers, zero and anything beyond ±`MAX_IMAGE_WEIGHT`.
 */
export function parseImageWeights(
  raw: string | undefined,
  images: number,
  option: string,
): Checked<number[]> {
  const weights = Array.from({ length: images }, () => 1);
  if (raw === undefined || raw.trim() === '') return { ok: true, value: weights };
  const refuse = (message: string): Checked<number[]> => ({
    ok: false,
    error: { identifier: 'image-weights-invalid', option, message },
  });
  const parts = raw.split(/[,;\s]+/).filter(Boolean);
  if (images === 0) return refuse(`\`${option}\` needs images to weigh; attach at least one.`);
  if (parts.length > images)
    return refuse(`\`${option}\` has ${parts.length} weights for ${images} image${images === 1 ? '' : 's'}.`);
  for (const [i, part] of parts.entries()) {
    const w = Number(part);
    if (
      !/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(part) ||
      !Number.isFinite(w) ||
      w === 0 ||
      Math.abs(w) > MAX_IMAGE_WEIGHT
    )
      return refuse(
        `\`${option}\`: “${part.slice(0, 20)}” is not a weight; use numbers between -${MAX_IMAGE_WEIGHT} and ${MAX_IMAGE_WEIGHT} other than 0, separated by commas (e.g. \`1,0.5\`).`,
      );
    weights[i] = w;
  }
  return { ok: true, value: weights };
}

/** Checks the image prompt attachments (in option order) and pairs them with their weights. */
export function checkImagePrompts(
  attachments: readonly (AttachmentOption & { option: string })[],
  rawWeights: string | undefined,
  weightsOption: string,
): Checked<ImagePromptInput[]> {
  if (attachments.length > MAX_IMAGE_PROMPTS)
    return {
      ok: false,
      error: {
        identifier: 'image-prompt-invalid',
        option: attachments[MAX_IMAGE_PROMPTS]!.option,
        message: `At most ${MAX_IMAGE_PROMPTS} image prompts.`,
      },
    };
  const weights = parseImageWeights(rawWeights, attachments.length, weightsOption);
  if (!weights.ok) return weights;
  const out: ImagePromptInput[] = [];
  for (const [i, a] of attachments.entries()) {
    const checked = checkInputImage(a, a.option, `\`${a.option}\``, 'image-prompt-invalid');
    if (!checked.ok) return checked;
    out.push({ ...checked.value, weight: weights.value[i]! });
  }
  return { ok: true, value: out };
}
