/**
 * `/imagine options:` — generate.py's options as one line of text (`cutn=32 augments=Af,Pe
 * optimiser=AdamW`, shared/src/job-options-text.ts), checked against what the model can do and
 * against the rest of the request (zoom frames from the steps, story length from the prompt).
 * Pure; a mistake is a refusal with the stable identifier `options-invalid`.
 */
import {
  formatJobOptionsText,
  type JobOptions,
  jobOptionsProblem,
  type Loop,
  parseJobOptionsText,
} from '../../../shared/src/index.js';

/** What the options check needs to know about the model (a part of `ModelFacts`). */
export interface ModelLoops {
  name: string;
  /** The loops the model has; absent: not known here (the renderer decides). */
  loops?: readonly Loop[];
  /** The loop a job without `loop=` gets (absent: classic). */
  defaultLoop?: Loop;
}

export interface CheckedJobOptions {
  options: JobOptions;
  /** The options in canonical form, for the render message (absent: none given). */
  optionsText?: string;
}

export type JobOptionsCheck = { ok: true; value: CheckedJobOptions } | { ok: false; message: string };

/** Options only the reference loop reads (the renderer refuses them on the classic loop). */
const REFERENCE_ONLY = [
  ['cutMethod', 'cut_method'],
  ['augments', 'augments'],
  ['cutNoise', 'cut_noise'],
] as const;

export function checkJobOptions(
  raw: string | undefined,
  ctx: { model: ModelLoops; steps: number; storySegments: number },
): JobOptionsCheck {
  const parsed = parseJobOptionsText(raw ?? '');
  if (!parsed.ok) return { ok: false, message: `\`options\`: ${parsed.error.message}` };
  const options = parsed.options;
  const problem = jobOptionsProblem(options, { steps: ctx.steps, storySegments: ctx.storySegments });
  if (problem) return { ok: false, message: problem.message };
  const loop = options.loop ?? ctx.model.defaultLoop ?? 'classic';
  if (ctx.model.loops && !ctx.model.loops.includes(loop))
    return {
      ok: false,
      message: `The model ${ctx.model.name} has no ${loop} loop; \`loop\` may be ${ctx.model.loops.join(' or ')}.`,
    };
  const referenceOnly = REFERENCE_ONLY.filter(([field]) => options[field] !== undefined).map(([, n]) => n);
  if (loop === 'classic' && referenceOnly.length > 0)
    return {
      ok: false,
      message: `\`options\`: ${referenceOnly.join(', ')} belong to generate.py's loop; add loop=reference.`,
    };
  const text = formatJobOptionsText(options);
  return { ok: true, value: text ? { options, optionsText: text } : { options } };
}
