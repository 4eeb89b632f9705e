/**
 * `/imagine` options → a validated render request, or a refusal with a stable identifier and a
 * sentence for the person. Pure: model facts and server settings are passed in.
 */
import { z } from 'zod';
import type { JobOptions } from '../../../shared/src/job-options-text.js';
import { parsePromptLine, type ParsedPrompt } from '../../../shared/src/prompt-syntax.js';
import { findBannedWords, type GuildSettings } from './guild-settings.js';
import {
  AttachmentOption,
  checkImagePrompts,
  checkInputImage,
  MAX_INPUT_IMAGE_BYTES,
  type ImageInputRefusalId,
  type ImagePromptInput,
  type InputImage,
} from './image-prompts.js';
import { checkJobOptions, type ModelLoops } from './imagine-options.js';
import { QUALITY_PRESETS, resolveQuality, type QualityPreset } from './presets.js';
import { cleanUserText } from './text-safety.js';

/** What the bot knows about the model it sends jobs to. */
export interface ModelFacts extends ModelLoops {
  name: string;
  /** [width, height] pairs the model renders. */
  sizes: [number, number][];
  defaultSize: [number, number];
  defaultSteps: number;
  defaultCutn: number;
  /** Upper bound for steps regardless of server settings. */
  maxSteps: number;
}

export const MAX_PROMPT_CHARS = 1000;
export const MAX_INIT_IMAGE_BYTES = MAX_INPUT_IMAGE_BYTES;

/** The raw options as discord.js hands them over (before any checks). */
export const ImagineOptions = z.object({
  /** Optional only when image prompts are given. */
  prompt: z.string().optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  steps: z.number().int().min(1).max(10_000).optional(),
  size: z.string().max(20).optional(),
  quality: z.enum(QUALITY_PRESETS).optional(),
  avoid: z.string().max(6000).optional(),
  /** generate.py's options as text (`cutn=32 augments=Af,Pe`; shared/src/job-options-text.ts). */
  options: z.string().max(6000).optional(),
  initImage: AttachmentOption.optional(),
  /** Image prompt attachments in option order, each with the option it came from. */
  imagePrompts: z
    .array(AttachmentOption.extend({ option: z.string().max(32) }))
    .max(8)
    .optional(),
  /** `"1,0.5"`: one weight per image prompt. */
  imageWeights: z.string().max(200).optional(),
});
export type ImagineOptions = z.infer<typeof ImagineOptions>;

export interface ImagineRequest {
  /** The cleaned prompt line, as it will be shown. */
  promptText: string;
  prompts: ParsedPrompt[];
  /** A story (`a ^ b ^ c`): the prompt lists after `prompts`, in order. */
  story?: ParsedPrompt[][];
  avoidText?: string;
  /** The loop options, cutouts and learning rate the `options` text set. */
  options: JobOptions;
  /** `options` in canonical form, for the render message. */
  optionsText?: string;
  seed: number;
  steps: number;
  cutn: number;
  width: number;
  height: number;
  quality: QualityPreset;
  initImage?: InputImage;
  /** Pictures to paint towards, with their weights (may be the only prompts). */
  imagePrompts: ImagePromptInput[];
  /** Characters the cleaning removed (shown to the person so the change is not a surprise). */
  cleaned: boolean;
}

export type ImagineRefusalId =
  | 'invalid-options'
  | 'prompt-empty'
  | 'prompt-too-long'
  | 'prompt-syntax'
  | 'banned-words'
  | 'channel-not-allowed'
  | 'too-many-steps'
  | 'size-not-supported'
  | 'size-too-large'
  | 'options-invalid'
  | ImageInputRefusalId;

export interface ImagineRefusal {
  identifier: ImagineRefusalId;
  message: string;
  /** The command option the refusal is about, when it is about one. */
  option?: string;
}

export type ImagineResult = { ok: true; value: ImagineRequest } | { ok: false; error: ImagineRefusal };

const refuse = (
  identifier: ImagineRefusalId,
  message: string,
  option?: string,
): { ok: false; error: ImagineRefusal } => ({ ok: false, error: { identifier, message, option } });

/** The steps a server allows: the model's maximum, lowered by the server's setting. */
export function maxStepsFor(model: ModelFacts, settings: GuildSettings): number {
  return Math.min(model.maxSteps, settings.maxSteps > 0 ? settings.maxSteps : model.maxSteps);
}

/**
 * The refusal for options discord.js handed over that are out of range or of the wrong kind: it
 * names the option (as the person sees it in the command) and what it accepts.
 */
function optionRefusal(
  issues: readonly { path: PropertyKey[] }[],
  model: ModelFacts,
  settings: GuildSettings,
): ImagineResult {
  const field = String(issues[0]?.path[0] ?? 'prompt');
  const accepts: Record<string, [string, string]> = {
    prompt: ['prompt', 'must be text describing the picture'],
    seed: ['seed', `must be a whole number between 0 and ${0xffffffff}`],
    steps: ['steps', `must be between 1 and ${maxStepsFor(model, settings)}`],
    size: ['size', `must be one of ${sizeChoices(model).join(', ')}`],
    quality: ['quality', `must be one of ${QUALITY_PRESETS.join(', ')}`],
    avoid: ['avoid', 'may be at most 6000 characters long'],
    options: ['options', 'may be at most 6000 characters long'],
    initImage: ['init_image', 'must be an attached PNG, JPEG or WebP picture'],
    imagePrompts: ['image_prompt', 'must be attached PNG, JPEG or WebP pictures'],
    imageWeights: ['image_weights', 'must be numbers separated by commas, e.g. 1,0.5'],
  };
  const [option, rule] = accepts[field] ?? [field, 'is not valid'];
  return refuse('invalid-options', `\`${option}\` ${rule}.`, option);
}

export function parseSize(raw: string): [number, number] | undefined {
  const m = /^\s*(\d{1,4})\s*[x×]\s*(\d{1,4})\s*$/i.exec(raw);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Size choices for the command (what the model supports), as `WxH` strings. */
export function sizeChoices(model: ModelFacts): string[] {
  return model.sizes.map(([w, h]) => `${w}x${h}`);
}

/** A partial check: its value, or the refusal that ends validation. */
type Checked<T> = { ok: true; value: T } | { ok: false; error: ImagineRefusal };

interface CheckedPrompt {
  promptText: string;
  prompts: ParsedPrompt[];
  story: ParsedPrompt[][] | undefined;
  avoidText: string | undefined;
  cleaned: boolean;
}

/**
 * The prompt line: length, invisible characters, `text:weight` syntax, banned words. It may be
 * empty only when image prompts (of total positive weight `imageWeight`) are given.
 */
function checkPrompt(
  o: ImagineOptions,
  settings: GuildSettings,
  imageWeight: number,
): Checked<CheckedPrompt> {
  const raw = o.prompt ?? '';
  if ([...raw].length > MAX_PROMPT_CHARS) {
    return refuse(
      'prompt-too-long',
      `Your prompt is ${[...raw].length} characters long; please keep it under ${MAX_PROMPT_CHARS}.`,
      'prompt',
    );
  }
  const clean = cleanUserText(raw);
  if (clean.text === '' && imageWeight === 0)
    return refuse(
      'prompt-empty',
      o.prompt === undefined
        ? 'Please describe what to paint in `prompt`, or attach an image prompt.'
        : 'Your prompt is empty once invisible and control characters are removed. Please describe what to paint.',
      'prompt',
    );
  if (clean.text === '') return imageOnly(o.avoid, imageWeight, settings);
  // A story (`a ^ b ^ c`, generate.py's -cpe): each part is a prompt line of its own, with `avoid`.
  const parts = clean.text.split('^');
  const lists: ParsedPrompt[][] = [];
  let avoidText: string | undefined;
  for (const [k, part] of parts.entries()) {
    const where = parts.length > 1 ? `Story part ${k + 1}: ` : '';
    const syntax = parsePromptLine(part);
    if (!syntax.ok) return refuse('prompt-syntax', `${where}${syntax.error.message}`, 'prompt');
    if (syntax.prompts.some((p) => [...p.text].length > 500))
      return refuse(
        'prompt-too-long',
        'Each prompt between `|` may be at most 500 characters long.',
        'prompt',
      );
    const avoid = checkAvoid(o.avoid, syntax.prompts, imageWeight);
    if (!avoid.ok) return avoid;
    if (avoid.value.prompts.length > 8)
      return refuse('prompt-syntax', `${where}Too many prompts: at most 8 together with \`avoid\`.`);
    avoidText = avoid.value.avoidText;
    lists.push(avoid.value.prompts);
  }
  const [prompts, ...story] = lists as [ParsedPrompt[], ...ParsedPrompt[][]];

  const banned = findBannedWords(`${clean.text} ${avoidText ?? ''}`, settings.bannedWords);
  if (banned.length > 0) {
    return refuse(
      'banned-words',
      `This server does not allow ${banned.map((w) => `“${w}”`).join(', ')} in prompts. Your prompt was not rendered.`,
    );
  }
  const removed = Object.values(clean.removed).reduce((a, b) => a + b, 0);
  return {
    ok: true,
    value: {
      promptText: clean.text,
      prompts,
      story: story.length ? story : undefined,
      avoidText,
      cleaned: removed > 0,
    },
  };
}

/** No text prompt (image prompts only): `avoid` may still push away, against the images' weight. */
function imageOnly(
  avoid: string | undefined,
  imageWeight: number,
  settings: GuildSettings,
): Checked<CheckedPrompt> {
  const checked = checkAvoid(avoid, [], imageWeight);
  if (!checked.ok) return checked;
  const { avoidText, prompts } = checked.value;
  const banned = findBannedWords(avoidText ?? '', settings.bannedWords);
  if (banned.length > 0)
    return refuse(
      'banned-words',
      `This server does not allow ${banned.map((w) => `“${w}”`).join(', ')} in prompts.`,
    );
  return { ok: true, value: { promptText: '', prompts, story: undefined, avoidText, cleaned: false } };
}

/** `avoid` → negative prompts appended to the wanted ones. */
function checkAvoid(
  avoid: string | undefined,
  wanted: ParsedPrompt[],
  imageWeight: number,
): Checked<{ avoidText: string | undefined; prompts: ParsedPrompt[] }> {
  const prompts = [...wanted];
  if (avoid === undefined) return { ok: true, value: { avoidText: undefined, prompts } };
  const cleanAvoid = cleanUserText(avoid);
  if ([...cleanAvoid.text].length > MAX_PROMPT_CHARS / 2) {
    return refuse(
      'prompt-too-long',
      `The \`avoid\` text is too long; please keep it under ${MAX_PROMPT_CHARS / 2} characters.`,
      'avoid',
    );
  }
  const parts = cleanAvoid.text
    .split('|')
    .map((s) => s.replace(/:/g, ' ').trim())
    .filter(Boolean);
  if (parts.length === 0) return { ok: true, value: { avoidText: undefined, prompts } };
  // Negative prompts push away at half the strength the wanted ones pull, in total.
  const positive = prompts.reduce((sum, p) => sum + Math.max(0, p.weight), imageWeight);
  const weight = -(positive * 0.5) / parts.length;
  for (const text of parts) prompts.push({ text, weight });
  return { ok: true, value: { avoidText: parts.join(' | '), prompts } };
}

/** The size: one the model renders, within the server's largest side. */
function checkSize(
  raw: string | undefined,
  model: ModelFacts,
  settings: GuildSettings,
): Checked<[number, number]> {
  let size = model.defaultSize;
  if (raw !== undefined) {
    const wanted = parseSize(raw);
    const supported = wanted && model.sizes.find(([w, h]) => w === wanted[0] && h === wanted[1]);
    if (!supported)
      return refuse(
        'size-not-supported',
        `The model ${model.name} renders ${sizeChoices(model).join(', ')}; ${raw} is not one of them.`,
        'size',
      );
    size = supported;
  }
  if (settings.maxSize > 0 && Math.max(size[0], size[1]) > settings.maxSize) {
    return refuse(
      'size-too-large',
      `${size[0]}x${size[1]} is larger than this server allows (${settings.maxSize} px).`,
      'size',
    );
  }
  return { ok: true, value: size };
}

/** The init image attachment: a PNG, JPEG or WebP picture within the size limit. */
function checkInitImage(a: ImagineOptions['initImage']): Checked<ImagineRequest['initImage']> {
  if (!a) return { ok: true, value: undefined };
  return checkInputImage(a, 'init_image', 'The init image', 'init-image-invalid');
}

/**
 * Checks `/imagine` options in the order a person would fix them: option ranges, channel,
 * image prompts and their weights, prompt, steps, options, size, init image. Pure: model facts and server settings are passed in.
 */
export function validateImagine(
  raw: unknown,
  context: {
    model: ModelFacts;
    settings: GuildSettings;
    channelId: string;
    randomSeed: () => number;
    /** The weights option's name in refusals (`/blend` calls it `weights`). */
    weightsOption?: string;
  },
): ImagineResult {
  const parsed = ImagineOptions.safeParse(raw);
  const { model, settings } = context;
  if (!parsed.success) return optionRefusal(parsed.error.issues, model, settings);
  const o = parsed.data;

  if (settings.allowedChannels.length > 0 && !settings.allowedChannels.includes(context.channelId)) {
    const where = settings.allowedChannels.map((id) => `<#${id}>`).join(', ');
    return refuse('channel-not-allowed', `Renders are not enabled in this channel. Try ${where}.`);
  }
  const imagePrompts = checkImagePrompts(
    o.imagePrompts ?? [],
    o.imageWeights,
    context.weightsOption ?? 'image_weights',
  );
  if (!imagePrompts.ok) return imagePrompts;
  const imageWeight = imagePrompts.value.reduce((sum, p) => sum + Math.max(0, p.weight), 0);
  const prompt = checkPrompt(o, settings, imageWeight);
  if (!prompt.ok) return prompt;

  const quality = o.quality ?? 'standard';
  const { steps, cutn } = resolveQuality(
    { steps: model.defaultSteps, cutn: model.defaultCutn },
    quality,
    o.steps,
  );
  const maxSteps = maxStepsFor(model, settings);
  if (steps > maxSteps)
    return refuse(
      'too-many-steps',
      `${steps} steps is more than this server allows (${maxSteps}); \`steps\` must be between 1 and ${maxSteps}.`,
      'steps',
    );
  const options = checkJobOptions(o.options, {
    model,
    steps,
    storySegments: 1 + (prompt.value.story?.length ?? 0),
  });
  if (!options.ok) return refuse('options-invalid', options.message, 'options');
  const size = checkSize(o.size, model, settings);
  if (!size.ok) return size;
  const initImage = checkInitImage(o.initImage);
  if (!initImage.ok) return initImage;

  return {
    ok: true,
    value: {
      ...prompt.value,
      seed: o.seed ?? context.randomSeed(),
      steps,
      cutn: options.value.options.cutn ?? cutn,
      ...options.value,
      width: size.value[0],
      height: size.value[1],
      quality,
      initImage: initImage.value,
      imagePrompts: imagePrompts.value,
    },
  };
}
