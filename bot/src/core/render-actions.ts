/**
 * What each render button asks for, as new render parameters derived from the parent's: Reroll
 * (a new seed), Variations (this picture as init image, a new seed, fewer steps), Upscale (the
 * model's next larger size from this picture, fewer steps), Zoom video (zoomEvery/zoomScale from
 * this picture) and Edit (the modal's fields checked like `/imagine`). Pure; refusals come back
 * as values with a stable identifier.
 */
import {
  formatJobOptionsText,
  type JobOptions,
  parseJobOptionsText,
} from '../../../shared/src/job-options-text.js';
import type { GuildSettings } from './guild-settings.js';
import { validateImagine, type ModelFacts } from './imagine-request.js';
import { nextLargerSize } from './render-buttons.js';
import type { RenderOrigin, RenderParams } from './render-record.js';

/** The buttons that start a render from a finished one. */
export type DerivingAction = 'reroll' | 'vary' | 'upscale' | 'zoom';

export const ACTION_ORIGIN: Record<DerivingAction | 'edit-form', RenderOrigin> = {
  reroll: 'reroll',
  vary: 'variation',
  upscale: 'upscale',
  zoom: 'zoom',
  'edit-form': 'edit',
};

/** About this many frames in a zoom video. */
export const ZOOM_VIDEO_FRAMES = 25;
/** Each zoom-video frame zooms this much (generate.py's -zsc). */
export const ZOOM_VIDEO_SCALE = 0.98;

export type DeriveRefusalId = 'no-picture' | 'no-larger-size' | 'size-too-large' | 'edit-invalid';
export type Derived =
  | { ok: true; value: RenderParams }
  | { ok: false; identifier: DeriveRefusalId; message: string };

export interface DeriveContext {
  model: ModelFacts;
  settings: GuildSettings;
  seed: number;
  /** Object-store key of the parent's finished picture (absent when it did not finish). */
  pictureKey: string | undefined;
}

const refuse = (identifier: DeriveRefusalId, message: string): Derived => ({
  ok: false,
  identifier,
  message,
});

/** Fewer steps for a render that starts from a picture: half, at least a quarter of the model's default. */
export function fewerSteps(steps: number, model: ModelFacts): number {
  const floor = Math.max(1, Math.round(model.defaultSteps / 4));
  return Math.min(steps, Math.max(floor, Math.round(steps / 2)));
}

/** The parameters of the render a button starts from `parent`. */
export function deriveParams(action: DerivingAction, parent: RenderParams, c: DeriveContext): Derived {
  if (action === 'reroll') return { ok: true, value: { ...parent, seed: c.seed } };
  const picture = c.pictureKey;
  if (!picture)
    return refuse(
      'no-picture',
      'The picture of this render is no longer in the farm’s store, so it cannot be used.',
    );
  if (action === 'vary')
    return {
      ok: true,
      value: { ...parent, seed: c.seed, steps: fewerSteps(parent.steps, c.model), initImageKey: picture },
    };
  if (action === 'upscale') {
    const size = nextLargerSize(c.model, parent.width, parent.height);
    if (!size || parent.model !== c.model.name)
      return refuse(
        'no-larger-size',
        `The model ${parent.model} has no larger size than ${parent.width}×${parent.height}.`,
      );
    if (c.settings.maxSize > 0 && Math.max(...size) > c.settings.maxSize)
      return refuse(
        'size-too-large',
        `${size[0]}×${size[1]} is larger than this server allows (${c.settings.maxSize} px).`,
      );
    // The renderer resizes the init image to the job's size (sharp), the same way for a Replay.
    return {
      ok: true,
      value: {
        ...parent,
        width: size[0],
        height: size[1],
        steps: fewerSteps(parent.steps, c.model),
        initImageKey: picture,
      },
    };
  }
  const zoom = {
    zoomEvery: Math.max(1, Math.ceil(parent.steps / ZOOM_VIDEO_FRAMES)),
    zoomScale: parent.options?.zoomScale ?? ZOOM_VIDEO_SCALE,
  };
  return {
    ok: true,
    value: {
      ...parent,
      initImageKey: picture,
      options: { ...parent.options, ...zoom },
      optionsText: formatJobOptionsText({ ...jobOptionsOf(parent), ...zoom }),
    },
  };
}

/** All the options of a render as the options text reads them (cutn only where it was given). */
export function jobOptionsOf(p: RenderParams): JobOptions {
  const stored = parseJobOptionsText(p.optionsText ?? '');
  return stored.ok ? { ...stored.options, ...p.options } : { ...p.options };
}

/** The options text of a render (what `/imagine options:` takes to make it again). */
export function optionsTextOf(p: RenderParams): string {
  return formatJobOptionsText(jobOptionsOf(p));
}

/** The Edit modal's text fields. */
export interface EditFields {
  prompt: string;
  seed: string;
  steps: string;
  size: string;
  options: string;
}

/** The modal's fields, pre-filled from a render. */
export function editFieldsOf(p: RenderParams): EditFields {
  return {
    prompt: p.promptText,
    seed: String(p.seed),
    steps: String(p.steps),
    size: `${p.width}x${p.height}`,
    options: optionsTextOf(p),
  };
}

function wholeNumber(raw: string): number | string | undefined {
  const t = raw.trim();
  if (t === '') return undefined;
  return /^\d{1,10}$/.test(t) ? Number(t) : t;
}

/**
 * The render an Edit submits: the fields checked as `/imagine` checks its options (a blank seed
 * is a new one, blank steps the quality's); `avoid`, quality and init image stay the parent's.
 */
export function editParams(
  parent: RenderParams,
  fields: EditFields,
  c: { model: ModelFacts; settings: GuildSettings; channelId: string; randomSeed: () => number },
): Derived {
  const checked = validateImagine(
    {
      prompt: fields.prompt,
      seed: wholeNumber(fields.seed),
      steps: wholeNumber(fields.steps),
      size: fields.size.trim() === '' ? undefined : fields.size.trim(),
      quality: parent.quality,
      avoid: parent.avoidText,
      options: fields.options.trim() === '' ? undefined : fields.options,
    },
    c,
  );
  if (!checked.ok) return refuse('edit-invalid', checked.error.message);
  const r = checked.value;
  const { cutn: _cutn, ...options } = r.options; // cutn: the request's, preset or option
  return {
    ok: true,
    value: {
      ...parent,
      promptText: r.promptText,
      avoidText: r.avoidText,
      prompts: r.prompts,
      story: r.story,
      options: Object.keys(options).length ? options : undefined,
      optionsText: r.optionsText,
      seed: r.seed,
      steps: r.steps,
      cutn: r.cutn,
      width: r.width,
      height: r.height,
    },
  };
}
