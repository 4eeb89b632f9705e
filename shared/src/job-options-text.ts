/**
 * The loop options of a job as one line of text, the way generate.py users type flags:
 * `cutn=32 cut_method=latest augments=Af,Pe,Ji cut_pow=1 cut_noise=0.1 optimiser=AdamW lr=0.1`.
 * `/imagine options:` and `tessera imagine --options` read it; the bot shows it back.
 *
 * Names are the `tessera render` flags with `_` (or `-`) between words; generate.py's short flag
 * names (`cuts`, `cutm`, `cutp`, `aug`, `opt`, `iw`, `cpe`, `zse`, `zsc`, `zsx`, `zsy`) and a
 * few obvious spellings (`noise`, `optimizer`, `auto_stop`) are accepted too. Ranges are the ones
 * of `loop-options.ts` (one schema). Pure; never throws on user input: a mistake comes back as a
 * value with a stable identifier and a sentence that names the option and what it accepts.
 *
 * Round trip: for valid options `o`, `parseJobOptionsText(formatJobOptionsText(o))` gives `o`
 * back, and `formatJobOptionsText` of a parsed canonical text gives the same text.
 */
import {
  AUGMENTS,
  type Augment,
  CUT_METHODS,
  INIT_NOISES,
  LOOP_OPTION_RANGES,
  LOOPS,
  type LoopOptions,
  loopOptionProblem,
  MAX_STORY_SEGMENTS,
  MAX_ZOOM_FRAMES,
  OPTIMISERS,
  parseAugments,
} from './loop-options.js';

/** Limits of the two job fields that are not loop options (RenderJob `cutn`, `lr`). */
export const JOB_OPTION_LIMITS = {
  cutn: { min: 1, max: 256 },
  /** Above 0 (exclusive), at most 10. */
  lr: { min: 0, max: 10 },
} as const;

/** Everything the options text can set: the loop options plus cutouts and learning rate. */
export interface JobOptions extends LoopOptions {
  cutn?: number;
  lr?: number;
}

/** Longest options text (a Discord string option holds up to 6000; a line of flags is short). */
export const MAX_JOB_OPTIONS_TEXT = 500;

export type JobOptionsTextErrorId =
  | 'options-too-long'
  | 'options-syntax'
  | 'unknown-option'
  | 'duplicate-option'
  | 'bad-option-value';

export interface JobOptionsTextError {
  identifier: JobOptionsTextErrorId;
  /** The option as written in the text (canonical name), when the error is about one. */
  option?: string;
  message: string;
}

export type JobOptionsTextResult =
  | { ok: true; options: JobOptions }
  | { ok: false; error: JobOptionsTextError };

type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'number'; min: number; max: number; exclusiveMin?: true }
  | { type: 'choice'; values: readonly string[] }
  | { type: 'augments' };

interface OptionSpec {
  /** Canonical name in the text (the CLI flag with `_`). */
  name: string;
  field: keyof JobOptions;
  kind: Kind;
  aliases: readonly string[];
}

const R = LOOP_OPTION_RANGES;
const range = (r: { min: number; max: number }) => ({ min: r.min, max: r.max });

/** In the order `formatJobOptionsText` writes them. */
const SPECS: readonly OptionSpec[] = [
  { name: 'loop', field: 'loop', kind: { type: 'choice', values: LOOPS }, aliases: [] },
  {
    name: 'cut_method',
    field: 'cutMethod',
    kind: { type: 'choice', values: CUT_METHODS },
    aliases: ['cutm'],
  },
  { name: 'cutn', field: 'cutn', kind: { type: 'int', ...JOB_OPTION_LIMITS.cutn }, aliases: ['cuts'] },
  { name: 'cut_pow', field: 'cutPow', kind: { type: 'number', ...range(R.cutPow) }, aliases: ['cutp'] },
  { name: 'augments', field: 'augments', kind: { type: 'augments' }, aliases: ['aug'] },
  {
    name: 'cut_noise',
    field: 'cutNoise',
    kind: { type: 'number', ...range(R.cutNoise) },
    aliases: ['noise'],
  },
  {
    name: 'optimiser',
    field: 'optimiser',
    kind: { type: 'choice', values: OPTIMISERS },
    aliases: ['optimizer', 'opt'],
  },
  {
    name: 'lr',
    field: 'lr',
    kind: { type: 'number', ...JOB_OPTION_LIMITS.lr, exclusiveMin: true },
    aliases: ['learning_rate'],
  },
  {
    name: 'init_weight',
    field: 'initWeight',
    kind: { type: 'number', ...range(R.initWeight) },
    aliases: ['iw'],
  },
  {
    name: 'init_noise',
    field: 'initNoise',
    kind: { type: 'choice', values: INIT_NOISES },
    aliases: ['in'],
  },
  {
    name: 'story_every',
    field: 'storyEvery',
    kind: { type: 'int', ...range(R.storyEvery) },
    aliases: ['cpe'],
  },
  {
    name: 'zoom_every',
    field: 'zoomEvery',
    kind: { type: 'int', min: 1, max: R.zoomEvery.max },
    aliases: ['zse'],
  },
  {
    name: 'zoom_scale',
    field: 'zoomScale',
    kind: { type: 'number', ...range(R.zoomScale) },
    aliases: ['zsc'],
  },
  {
    name: 'zoom_shift_x',
    field: 'zoomShiftX',
    kind: { type: 'int', ...range(R.zoomShiftX) },
    aliases: ['zsx'],
  },
  {
    name: 'zoom_shift_y',
    field: 'zoomShiftY',
    kind: { type: 'int', ...range(R.zoomShiftY) },
    aliases: ['zsy'],
  },
  {
    name: 'auto_stop_window',
    field: 'autoStopWindow',
    kind: { type: 'int', min: R.autoStopWindow.min, max: R.autoStopWindow.max },
    aliases: ['auto_stop'],
  },
  {
    name: 'auto_stop_delta',
    field: 'autoStopDelta',
    kind: { type: 'number', ...range(R.autoStopDelta) },
    aliases: [],
  },
];

const BY_NAME = new Map<string, OptionSpec>(
  SPECS.flatMap((s) => [s.name, ...s.aliases].map((n): [string, OptionSpec] => [n, s])),
);
/** loop-options.ts names problems by field; the text names options by their canonical name. */
const NAME_OF_FIELD = new Map<string, string>(SPECS.map((s) => [s.field, s.name]));

/** The canonical option names, in order (for help texts and autocomplete). */
export const JOB_OPTION_NAMES: readonly string[] = SPECS.map((s) => s.name);

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const fail = (identifier: JobOptionsTextErrorId, message: string, option?: string): JobOptionsTextResult => ({
  ok: false,
  error: option === undefined ? { identifier, message } : { identifier, option, message },
});

function shown(raw: string): string {
  return raw.length > 30 ? `${raw.slice(0, 30)}…` : raw;
}

/** What a kind accepts, as the end of a sentence. */
function accepts(kind: Kind): string {
  switch (kind.type) {
    case 'int':
      return `a whole number from ${kind.min} to ${kind.max}`;
    case 'number':
      return kind.exclusiveMin
        ? `a number above ${kind.min} and at most ${kind.max}`
        : `a number from ${kind.min} to ${kind.max}`;
    case 'choice':
      return `one of ${kind.values.join(', ')}`;
    case 'augments':
      return `a comma-separated list of ${AUGMENTS.join(', ')} (or none)`;
  }
}

/** One value → the field's value, or the sentence saying what is wrong. */
function parseValue(spec: OptionSpec, raw: string): { value: unknown } | { problem: string } {
  const bad = { problem: `${spec.name} must be ${accepts(spec.kind)} (got '${shown(raw)}').` };
  const k = spec.kind;
  switch (k.type) {
    case 'int':
    case 'number': {
      if (!NUMBER.test(raw)) return bad;
      const n = Number(raw);
      if (!Number.isFinite(n) || n > k.max || n < k.min) return bad;
      if (k.type === 'int' && !Number.isInteger(n)) return bad;
      if (k.type === 'number' && k.exclusiveMin && n <= k.min) return bad;
      return { value: n };
    }
    case 'choice': {
      const found = k.values.find((v) => v.toLowerCase() === raw.toLowerCase());
      return found === undefined ? bad : { value: found };
    }
    case 'augments': {
      const list = parseAugments(raw.replace(/,/g, ' '));
      const canonical: Augment[] = [];
      for (const a of list) {
        const found = AUGMENTS.find((v) => v.toLowerCase() === a.toLowerCase());
        if (found === undefined)
          return {
            problem: `augments: unknown augment '${shown(a)}'; choose from ${AUGMENTS.join(', ')} (or none).`,
          };
        canonical.push(found);
      }
      return { value: canonical };
    }
  }
}

/** Parses `name=value name=value …`. Never throws. An empty text is no options. */
export function parseJobOptionsText(text: string): JobOptionsTextResult {
  if (typeof text !== 'string') return fail('options-syntax', 'The options must be text.');
  if (text.length > MAX_JOB_OPTIONS_TEXT)
    return fail(
      'options-too-long',
      `The options are ${text.length} characters long; at most ${MAX_JOB_OPTIONS_TEXT} are accepted.`,
    );
  const options: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = token.indexOf('=');
    if (eq <= 0 || eq === token.length - 1)
      return fail(
        'options-syntax',
        `'${shown(token)}' is not name=value; write options like cutn=32 augments=Af,Pe (no spaces around =).`,
      );
    const key = token.slice(0, eq).replace(/^-+/, '').toLowerCase().replace(/-/g, '_');
    const spec = BY_NAME.get(key);
    if (!spec)
      return fail(
        'unknown-option',
        `Unknown option '${shown(token.slice(0, eq))}'; the options are ${JOB_OPTION_NAMES.join(', ')}.`,
      );
    if (seen.has(spec.name)) return fail('duplicate-option', `${spec.name} is given twice.`, spec.name);
    seen.add(spec.name);
    const parsed = parseValue(spec, token.slice(eq + 1));
    if ('problem' in parsed) return fail('bad-option-value', parsed.problem, spec.name);
    options[spec.field] = parsed.value;
  }
  // what no single value shows: an augment twice, too many warps (loop-options.ts decides)
  const problem = loopOptionProblem(options as LoopOptions);
  if (problem) {
    const name = NAME_OF_FIELD.get(problem.option) ?? problem.option;
    return fail('bad-option-value', problem.message.replace(problem.option, name), name);
  }
  return { ok: true, options: options as JobOptions };
}

/** The options as canonical text (names in a fixed order; empty for no options). */
export function formatJobOptionsText(options: JobOptions): string {
  const parts: string[] = [];
  for (const spec of SPECS) {
    const value = options[spec.field];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? (value.length ? value.join(',') : 'none') : String(value);
    parts.push(`${spec.name}=${text}`);
  }
  return parts.join(' ');
}

/** What a job's options are checked against besides their own ranges. */
export interface JobOptionsContext {
  /** The job's steps (zoom frames are steps / zoom_every). */
  steps: number;
  /** Prompts in the story (`a ^ b ^ c` is 3; 1 without a story). */
  storySegments: number;
}

/**
 * The problems only the whole job shows: a zoom video of too many frames, a story of too many
 * prompts. Same error shape as the parser (identifier `bad-option-value`).
 */
export function jobOptionsProblem(
  options: JobOptions,
  ctx: JobOptionsContext,
): JobOptionsTextError | undefined {
  if (options.zoomEvery !== undefined) {
    const frames = Math.ceil(ctx.steps / options.zoomEvery);
    if (frames > MAX_ZOOM_FRAMES)
      return {
        identifier: 'bad-option-value',
        option: 'zoom_every',
        message: `A zoom video of ${frames} frames (${ctx.steps} steps / zoom_every=${options.zoomEvery}); at most ${MAX_ZOOM_FRAMES}: raise zoom_every or lower the steps.`,
      };
  }
  if (ctx.storySegments > MAX_STORY_SEGMENTS)
    return {
      identifier: 'bad-option-value',
      option: 'story',
      message: `A story of ${ctx.storySegments} prompts (separated by ^); at most ${MAX_STORY_SEGMENTS}.`,
    };
  return undefined;
}
