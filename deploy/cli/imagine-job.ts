/**
 * `tessera imagine`'s command line → the `RenderJob` it submits. generate.py's options come as
 * the same `--options "cutn=32 augments=Af,Pe"` text `/imagine options:` takes, or as the flags of
 * `tessera render` (`--cut-method latest --augments Af,Pe …`), or both: every one goes through
 * `parseJobOptionsText`, so the CLI and `/imagine` reach the same job fields with the same errors.
 */
import { randomBytes, randomInt } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readManifest } from '../../renderer/src/index.js';
import {
  type Config,
  jobOptionsProblem,
  type ParsedPrompt,
  parseJobOptionsText,
  parsePromptLine,
  type RenderJobInput,
} from '../../shared/src/index.js';
import { repoRootFrom } from '../../shared/src/repo-root.js';

/** `tessera render`'s flags for generate.py's options (their names are the options text's names). */
const OPTION_FLAGS = [
  'cutn',
  'lr',
  'loop',
  'cut-method',
  'cut-pow',
  'augments',
  'cut-noise',
  'optimiser',
  'init-weight',
  'init-noise',
  'story-every',
  'zoom-every',
  'zoom-scale',
  'zoom-shift-x',
  'zoom-shift-y',
  'auto-stop-window',
  'auto-stop-delta',
] as const;

export const IMAGINE_OPTIONS = {
  seed: { type: 'string' },
  steps: { type: 'string' },
  size: { type: 'string' },
  options: { type: 'string' },
  ...(Object.fromEntries(OPTION_FLAGS.map((f) => [f, { type: 'string' }])) as Record<
    (typeof OPTION_FLAGS)[number],
    { type: 'string' }
  >),
  init: { type: 'string' },
  model: { type: 'string' },
  out: { type: 'string', default: 'out' },
  'no-frames': { type: 'boolean', default: false },
  timeout: { type: 'string', default: '600' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const parseImagineArgs = (argv: string[]) =>
  parseArgs({ args: argv, allowPositionals: true, options: IMAGINE_OPTIONS });
export type ImagineValues = ReturnType<typeof parseImagineArgs>['values'];

/** A mistake on the command line: printed as one line, exit code 2. */
export class ImagineUsageError extends Error {
  override readonly name = 'ImagineUsageError';
}

export function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new ImagineUsageError(`--${name} expects a number, got ${JSON.stringify(raw)}`);
  return n;
}

interface ModelDefaults {
  width: number;
  height: number;
  steps: number;
}

/** The model's defaults from a local bundle manifest, when this machine has one. */
async function modelDefaults(config: Config, model: string): Promise<ModelDefaults> {
  const fallback = { width: 64, height: 64, steps: 100 };
  for (const dir of [
    path.resolve(config.RENDERER_MODELS_DIR),
    path.resolve(repoRootFrom(import.meta.url), config.RENDERER_MODELS_DIR),
  ]) {
    try {
      const { manifest } = await readManifest(dir, model);
      const [width, height] = manifest.image.defaultSize;
      return { width, height, steps: manifest.defaults.steps };
    } catch {
      // not here
    }
  }
  return fallback;
}

/** The prompt line, a story when it has `^` (generate.py's -cpe): the first list and the rest. */
function storyPrompts(promptText: string): { prompts: ParsedPrompt[]; story: ParsedPrompt[][] } {
  const parts = promptText.split('^');
  const lists = parts.map((part, k) => {
    const parsed = parsePromptLine(part);
    if (!parsed.ok)
      throw new ImagineUsageError(
        `${parts.length > 1 ? `story part ${k + 1}: ` : ''}${parsed.error.message}`,
      );
    return parsed.prompts;
  });
  return { prompts: lists[0]!, story: lists.slice(1) };
}

/** `--options` and the option flags as one options text (a flag is `name=value`). */
function optionsText(values: ImagineValues): string {
  const tokens = values.options ? [values.options] : [];
  for (const flag of OPTION_FLAGS) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const value = flag === 'augments' ? raw.trim().replace(/[\s,]+/g, ',') : raw.trim();
    if (value === '' || /\s/.test(value))
      throw new ImagineUsageError(`--${flag} takes one value (got ${JSON.stringify(raw)})`);
    tokens.push(`${flag}=${value}`);
  }
  return tokens.join(' ');
}

/** The job the command line asks for; a mistake is an `ImagineUsageError`. */
export async function jobFromArgs(
  values: ImagineValues,
  positionals: string[],
  config: Config,
): Promise<RenderJobInput> {
  const promptText = positionals.join(' ');
  const { prompts, story } = storyPrompts(promptText);
  const model = values.model ?? config.RENDERER_MODEL;
  const defaults = await modelDefaults(config, model);
  let width = defaults.width;
  let height = defaults.height;
  if (values.size) {
    const m = /^(\d+)x(\d+)$/.exec(values.size);
    if (!m) throw new ImagineUsageError('--size expects WxH, e.g. 64x64');
    width = Number(m[1]);
    height = Number(m[2]);
  }
  const steps = num('steps', values.steps) ?? defaults.steps;
  const options = parseJobOptionsText(optionsText(values));
  if (!options.ok) throw new ImagineUsageError(options.error.message);
  const problem = jobOptionsProblem(options.options, { steps, storySegments: 1 + story.length });
  if (problem) throw new ImagineUsageError(problem.message);
  return {
    ...options.options,
    v: 1,
    jobId: `cli-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
    promptText,
    prompts,
    story: story.length ? story : undefined,
    seed: values.seed !== undefined ? num('seed', values.seed)! : randomInt(0, 2 ** 32 - 1),
    width,
    height,
    steps,
    model,
    requester: { userId: 'cli', username: os.userInfo().username || 'cli' },
    createdAt: new Date().toISOString(),
  };
}
