/**
 * Checks a `RenderRequest` against a bundle and fills in the bundle's defaults. Pure; every
 * problem is an `EngineInputError` with a stable identifier.
 */
import {
  type Augment,
  type InitNoise,
  LOOP_OPTION_RANGES,
  loopOptionProblem,
  MAX_STORY_SEGMENTS,
  MAX_ZOOM_FRAMES,
  type Optimiser,
} from '../../../shared/src/loop-options.js';
import type { BundleManifest } from './bundle.js';
import { EngineInputError, type RenderRequest, type WeightedPrompt } from './engine.js';

/** Longest text of one prompt, in characters (the whole line has the same cap in shared/prompt-syntax). */
export const MAX_PROMPT_CHARS = 1000;
export const MAX_PROMPTS = 8;
export const MAX_STEPS = 5000;
export const MAX_CUTN = 256;

export interface ResolvedRender {
  prompts: WeightedPrompt[];
  seed: number;
  width: number;
  height: number;
  steps: number;
  cutn: number;
  lr: number;
  cutPow: number;
  cutMin: number;
  noise: number;
  frameEvery: number;
  initImage?: Uint8Array;
  /** Start from seeded noise through the encoder (generate.py -in); an init image wins. */
  initNoise?: InitNoise;
  /** The loop: classic (step interface 1) or reference (generate.py's, interface 2). */
  loop: 'classic' | 'reference';
  cutMethod: 'latest' | 'original';
  augments: Augment[];
  cutNoise: number;
  optimiser: Optimiser;
  initWeight: number;
  /** The prompt lists in story order (one entry without a story). */
  segments: WeightedPrompt[][];
  storyEvery: number;
  /** Auto-stop on a loss plateau (absent: off). */
  autoStop?: { window: number; delta: number };
  /** Zoom video (absent: off). */
  zoom?: { every: number; scale: number; shiftX: number; shiftY: number };
}

function bad(message: string, identifier = 'bad-request'): never {
  throw new EngineInputError(message, identifier);
}

function checkPrompts(prompts: readonly WeightedPrompt[]): void {
  if (!Array.isArray(prompts) || prompts.length === 0) bad('The prompt is empty.', 'empty-prompt');
  if (prompts.length > MAX_PROMPTS)
    bad(`${prompts.length} prompts; at most ${MAX_PROMPTS} are accepted.`, 'too-many-prompts');
  let sum = 0;
  for (const [i, p] of prompts.entries()) {
    if (p.kind === 'text') {
      if (typeof p.text !== 'string' || p.text.trim() === '')
        bad(`Prompt ${i + 1} is empty.`, 'empty-prompt');
      if (p.text.length > MAX_PROMPT_CHARS)
        bad(
          `Prompt ${i + 1} is ${p.text.length} characters long; at most ${MAX_PROMPT_CHARS} are accepted.`,
          'prompt-too-long',
        );
    } else if (p.kind === 'image') {
      if (!(p.image instanceof Uint8Array) || p.image.length === 0)
        bad(`Image prompt ${i + 1} has no bytes.`, 'bad-image');
    } else {
      bad(`Prompt ${i + 1} has an unknown kind.`);
    }
    if (!Number.isFinite(p.weight) || p.weight === 0)
      bad(`The weight of prompt ${i + 1} must be a non-zero number.`, 'bad-weight');
    if (p.stop !== undefined && !Number.isFinite(p.stop))
      bad(`The stop of prompt ${i + 1} must be a number.`, 'bad-stop');
    sum += p.weight;
  }
  if (sum <= 0)
    bad(`The prompt weights add up to ${sum}; they must add up to more than 0.`, 'weights-not-positive');
}

function intIn(name: string, v: number | undefined, fallback: number, lo: number, hi: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < lo || x > hi)
    bad(`${name} must be a whole number from ${lo} to ${hi} (got ${x}).`, `bad-${name}`);
  return x;
}

/** The loop options with the bundle's defaults; a bad value is an EngineInputError `bad-<option>`. */
function resolveLoop(manifest: BundleManifest, request: RenderRequest) {
  const problem = loopOptionProblem(request);
  if (problem) bad(problem.message, `bad-${problem.option}`);
  const loop = request.loop ?? manifest.defaults.loop ?? 'classic';
  const ref = manifest.reference;
  if (loop === 'classic') {
    if (request.cutMethod !== undefined || request.augments !== undefined || request.cutNoise !== undefined)
      bad('cutMethod, augments and cutNoise belong to the reference loop (loop: reference).', 'bad-loop');
    return {
      loop,
      cutMethod: 'latest' as const,
      augments: [] as Augment[],
      cutNoise: 0,
      cutPow: request.cutPow ?? manifest.defaults.cutPow,
      cutn: manifest.defaults.cutn,
      lr: manifest.defaults.lr,
      initWeight: LOOP_OPTION_RANGES.initWeight.default,
    };
  }
  if (!ref || !manifest.graphs.stepReference)
    bad(`Model '${manifest.name}' has no reference loop (loop must be classic).`, 'unsupported-loop');
  return {
    loop,
    cutMethod: request.cutMethod ?? ref.cutMethod,
    augments: [...(request.augments ?? ref.augments)],
    cutNoise: request.cutNoise ?? ref.cutNoise,
    cutPow: request.cutPow ?? ref.cutPow ?? LOOP_OPTION_RANGES.cutPow.default,
    cutn: ref.cutn ?? manifest.defaults.cutn,
    lr: ref.lr ?? manifest.defaults.lr,
    initWeight: ref.initWeight ?? LOOP_OPTION_RANGES.initWeight.default,
  };
}

function resolveStory(request: RenderRequest): { segments: WeightedPrompt[][]; storyEvery: number } {
  const story = request.story ?? [];
  if (!Array.isArray(story) || story.length + 1 > MAX_STORY_SEGMENTS)
    bad(
      `The story has ${story.length + 1} prompts; at most ${MAX_STORY_SEGMENTS} are accepted (story).`,
      'bad-story',
    );
  story.forEach(checkPrompts);
  return {
    segments: [request.prompts, ...story],
    storyEvery: request.storyEvery ?? LOOP_OPTION_RANGES.storyEvery.default,
  };
}

export function resolveRequest(manifest: BundleManifest, request: RenderRequest): ResolvedRender {
  if (typeof request !== 'object' || request === null) bad('The render request is missing.');
  checkPrompts(request.prompts);
  const d = manifest.defaults;
  const l = resolveLoop(manifest, request);
  const [dw, dh] = manifest.image.defaultSize;
  const width = request.width ?? dw;
  const height = request.height ?? dh;
  if (!manifest.image.sizes.some(([w, h]) => w === width && h === height)) {
    bad(
      `Model '${manifest.name}' renders ${manifest.image.sizes.map(([w, h]) => `${w}x${h}`).join(', ')}; not ${width}x${height}.`,
      'unsupported-size',
    );
  }
  const lr = request.lr ?? l.lr;
  if (!Number.isFinite(lr) || lr <= 0 || lr > 10)
    bad(`lr must be a number above 0 and at most 10 (got ${lr}).`, 'bad-lr');
  if (request.initImage !== undefined && !(request.initImage instanceof Uint8Array))
    bad('The init image must be bytes.', 'bad-image');
  const resolved: ResolvedRender = {
    prompts: request.prompts,
    seed: intIn('seed', request.seed, 0, 0, 0xffffffff),
    width,
    height,
    steps: intIn('steps', request.steps, d.steps, 1, MAX_STEPS),
    cutn: intIn('cutn', request.cutn, l.cutn, 1, MAX_CUTN),
    lr,
    cutPow: l.cutPow,
    cutMin: d.cutMin,
    noise: d.noise,
    frameEvery: intIn('frameEvery', request.frameEvery, d.frameEvery, 1, MAX_STEPS),
    loop: l.loop,
    cutMethod: l.cutMethod,
    augments: l.augments,
    cutNoise: l.cutNoise,
    optimiser: request.optimiser ?? (l.loop === 'reference' ? manifest.reference!.optimiser : 'Adam'),
    initWeight: request.initWeight ?? l.initWeight,
    ...resolveStory(request),
  };
  if (request.zoomEvery !== undefined) {
    const frames = Math.ceil(resolved.steps / request.zoomEvery);
    if (frames > MAX_ZOOM_FRAMES)
      bad(
        `A zoom video of ${frames} frames (steps / zoomEvery); at most ${MAX_ZOOM_FRAMES} (zoomEvery).`,
        'bad-zoomEvery',
      );
    resolved.zoom = {
      every: request.zoomEvery,
      scale: request.zoomScale ?? LOOP_OPTION_RANGES.zoomScale.default,
      shiftX: request.zoomShiftX ?? 0,
      shiftY: request.zoomShiftY ?? 0,
    };
  }
  if (request.autoStopWindow !== undefined)
    resolved.autoStop = {
      window: request.autoStopWindow,
      delta: request.autoStopDelta ?? LOOP_OPTION_RANGES.autoStopDelta.default,
    };
  if (request.initImage) resolved.initImage = request.initImage;
  if (request.initNoise) resolved.initNoise = request.initNoise;
  return resolved;
}
