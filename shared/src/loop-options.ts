/**
 * The per-job options of the VQGAN-CLIP reference loop (nerdyrodent/VQGAN-CLIP `generate.py`'s
 * flags, DESIGN.md §7): the single source of each option's name, range and default for the job
 * contract, the engine, the CLI and `/imagine`. A default of `undefined` means "the model
 * bundle's" (manifest `defaults` / `reference`).
 */
import { z } from 'zod';

/** generate.py's augmentation codes (`-aug`). */
export const AUGMENTS = ['Af', 'Pe', 'Ji', 'Er', 'Ro', 'Re', 'Sh', 'Gn', 'Cr', 'Et', 'Ts'] as const;
export type Augment = (typeof AUGMENTS)[number];
export const OPTIMISERS = ['Adam', 'AdamW', 'Adagrad', 'Adamax', 'RAdam', 'RMSprop', 'DiffGrad'] as const;
export type Optimiser = (typeof OPTIMISERS)[number];
/** `classic`: tessera's first loop (step interface 1); `reference`: generate.py's (interface 2). */
export const LOOPS = ['classic', 'reference'] as const;
export type Loop = (typeof LOOPS)[number];
export const CUT_METHODS = ['latest', 'original'] as const;
/** generate.py's `-in`: start from seeded random pixels or a random four-corner gradient. */
export const INIT_NOISES = ['pixels', 'gradient'] as const;
export type InitNoise = (typeof INIT_NOISES)[number];

/** Numeric ranges (inclusive unless `exclusiveMin`). */
export const LOOP_OPTION_RANGES = {
  cutPow: { min: 0.1, max: 10, default: 1 },
  cutNoise: { min: 0, max: 1, default: 0.1 },
  initWeight: { min: 0, max: 100, default: 0 },
  /** Story: the next prompt every storyEvery steps (generate.py -cpe). */
  storyEvery: { min: 1, max: 5000, default: 50 },
  /** Auto-stop (off unless autoStopWindow is given): window in steps, least relative improvement. */
  autoStopWindow: { min: 5, max: 1000, default: undefined },
  autoStopDelta: { min: 0, max: 1, default: 0.001 },
  /** Zoom video (-zvid; off unless zoomEvery is given): a frame, then zoom/shift and re-encode, every zoomEvery steps. */
  zoomEvery: { min: 1, max: 5000, default: undefined },
  zoomScale: { min: 0.5, max: 2, default: 0.99 },
  zoomShiftX: { min: -64, max: 64, default: 0 },
  zoomShiftY: { min: -64, max: 64, default: 0 },
} as const;
/** Zoom video: at most this many frames (steps / zoomEvery). */
export const MAX_ZOOM_FRAMES = 500;
/** Story: at most this many `^`-separated prompts. */
export const MAX_STORY_SEGMENTS = 16;

export const LoopOptions = z.object({
  loop: z.enum(LOOPS).optional(),
  cutMethod: z.enum(CUT_METHODS).optional(),
  cutPow: z.number().min(LOOP_OPTION_RANGES.cutPow.min).max(LOOP_OPTION_RANGES.cutPow.max).optional(),
  /** Applied in the graph's fixed order: warps (Ro, Af, Pe, Re as listed), Et, Ts, Ji, Sh, Gn, Er. */
  augments: z
    .array(z.enum(AUGMENTS))
    .max(AUGMENTS.length)
    .refine((a) => new Set(a).size === a.length, 'each augment at most once')
    .optional(),
  cutNoise: z.number().min(LOOP_OPTION_RANGES.cutNoise.min).max(LOOP_OPTION_RANGES.cutNoise.max).optional(),
  optimiser: z.enum(OPTIMISERS).optional(),
  initWeight: z
    .number()
    .min(LOOP_OPTION_RANGES.initWeight.min)
    .max(LOOP_OPTION_RANGES.initWeight.max)
    .optional(),
  /** Start from seeded noise (ignored with an init image, which wins, as in generate.py). */
  initNoise: z.enum(INIT_NOISES).optional(),
  autoStopWindow: z
    .number()
    .int()
    .min(LOOP_OPTION_RANGES.autoStopWindow.min)
    .max(LOOP_OPTION_RANGES.autoStopWindow.max)
    .optional(),
  autoStopDelta: z
    .number()
    .min(LOOP_OPTION_RANGES.autoStopDelta.min)
    .max(LOOP_OPTION_RANGES.autoStopDelta.max)
    .optional(),
  zoomEvery: z.number().int().min(1).max(LOOP_OPTION_RANGES.zoomEvery.max).optional(),
  zoomScale: z
    .number()
    .min(LOOP_OPTION_RANGES.zoomScale.min)
    .max(LOOP_OPTION_RANGES.zoomScale.max)
    .optional(),
  zoomShiftX: z.number().int().min(-64).max(64).optional(),
  zoomShiftY: z.number().int().min(-64).max(64).optional(),
  storyEvery: z
    .number()
    .int()
    .min(LOOP_OPTION_RANGES.storyEvery.min)
    .max(LOOP_OPTION_RANGES.storyEvery.max)
    .optional(),
});
export type LoopOptions = z.infer<typeof LoopOptions>;

/** At most this many geometric augments (Af, Pe, Ro, Re): the step graph has three warp slots. */
export const MAX_WARPS = 3;
export const WARP_AUGMENTS: readonly Augment[] = ['Ro', 'Af', 'Pe', 'Re'];

/** The first problem with the options as `{ option, message }`, or undefined: messages name the option and its range. */
export function loopOptionProblem(o: LoopOptions): { option: string; message: string } | undefined {
  const r = LOOP_OPTION_RANGES;
  const num = (name: keyof typeof r, v: number | undefined) =>
    v !== undefined && !(Number.isFinite(v) && v >= r[name].min && v <= r[name].max)
      ? {
          option: name,
          message: `${name} must be a number from ${r[name].min} to ${r[name].max} (got ${v}).`,
        }
      : undefined;
  const oneOf = (name: string, v: string | undefined, allowed: readonly string[]) =>
    v !== undefined && !allowed.includes(v)
      ? { option: name, message: `${name} must be one of ${allowed.join(', ')} (got '${v}').` }
      : undefined;
  const bad =
    oneOf('loop', o.loop, LOOPS) ??
    oneOf('cutMethod', o.cutMethod, CUT_METHODS) ??
    oneOf('optimiser', o.optimiser, OPTIMISERS) ??
    oneOf('initNoise', o.initNoise, INIT_NOISES) ??
    num('cutPow', o.cutPow) ??
    num('cutNoise', o.cutNoise) ??
    num('initWeight', o.initWeight) ??
    num('storyEvery', o.storyEvery) ??
    num('autoStopWindow', o.autoStopWindow) ??
    num('autoStopDelta', o.autoStopDelta) ??
    num('zoomEvery', o.zoomEvery) ??
    num('zoomScale', o.zoomScale) ??
    num('zoomShiftX', o.zoomShiftX) ??
    num('zoomShiftY', o.zoomShiftY);
  if (bad) return bad;
  if (o.augments !== undefined) {
    const unknown = o.augments.filter((a) => !(AUGMENTS as readonly string[]).includes(a));
    if (unknown.length)
      return {
        option: 'augments',
        message: `augments: unknown ${unknown.map((a) => `'${a}'`).join(', ')}; choose from ${AUGMENTS.join(', ')}.`,
      };
    if (new Set(o.augments).size !== o.augments.length)
      return { option: 'augments', message: 'augments: each augment at most once.' };
    const warps = o.augments.filter((a) => WARP_AUGMENTS.includes(a));
    if (warps.length > MAX_WARPS)
      return {
        option: 'augments',
        message: `augments: at most ${MAX_WARPS} of ${WARP_AUGMENTS.join(', ')} together (got ${warps.join(', ')}).`,
      };
  }
  return undefined;
}

/** `"Af,Pe,Ji"` or `"Af Pe Ji"` or `"none"` → list (no validation: see loopOptionProblem). */
export function parseAugments(text: string): string[] {
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'none') return [];
  return t.split(/[\s,]+/).filter(Boolean);
}
