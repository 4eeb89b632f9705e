/**
 * `tessera render "<prompt>" --out FILE.png`: one local render with the engine, no NATS.
 * User mistakes print one clear line and exit 2 (usage) or 1 (input the model refuses); never a
 * stack trace. Ctrl-C cancels the render (exit 130).
 */
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import sharp from 'sharp';
import { parsePromptLine } from '../../../shared/src/prompt-syntax.js';
import { ModelBundleError } from '../engine/bundle.js';
import {
  EngineInputError,
  type RenderProgress,
  type RenderRequest,
  type WeightedPrompt,
} from '../engine/engine.js';
import { encodeTimelapse } from '../engine/image-io.js';
import { createOnnxEngine } from '../engine/onnx-engine.js';
import type { ExecutionProviderChoice } from '../onnx/onnx-runtime.js';
import { ConfigError, loadConfig, type Config } from '../../../shared/src/index.js';
import { repoRootFrom } from '../../../shared/src/repo-root.js';
import { type LoopOptions, loopOptionProblem, parseAugments } from '../../../shared/src/loop-options.js';

const repoRoot = repoRootFrom(import.meta.url);

const USAGE = `usage: tessera render "<prompt>" --out FILE.png [options]

  prompt                 text:weight:stop, several joined by '|' (e.g. "a red circle | a square:-0.5")
  --out FILE.png         where to write the image (required)
  --seed N               0…4294967295 (default: random, printed)
  --steps N              optimisation steps (default: the model's)
  --size WxH             image size, one the model supports (default: the model's)
  --model NAME           model bundle under --models-dir (default: $RENDERER_MODEL or tiny-shapes)
  --models-dir DIR       default: $RENDERER_MODELS_DIR or <repo>/models
  --init-image FILE      start from this image instead of noise
  --image-prompt FILE[:W]  also steer toward (W < 0: away from) an image; repeatable
  --timelapse FILE.webp  also write an animated WebP of the progress frames
  --frame-every N        frame interval for --timelapse (default: the model's)
  --cutn N, --lr X       cutouts per step, learning rate (default: the model's)
  --loop L               classic | reference (generate.py's loop; default: the model's)
  --cut-method M         latest | original (reference loop)
  --cut-pow X            cut_pow of the original method (0.1…10)
  --augments LIST        e.g. Af,Pe,Ji,Er or none; from Af Pe Ji Er Ro Re Sh Gn Cr Et Ts (reference loop)
  --cut-noise X          per-cutout noise factor 0…1 (reference loop)
  --optimiser O          Adam | AdamW | Adagrad | Adamax | RAdam | RMSprop | DiffGrad
  --init-weight X        pull toward z = 0 with weight X/(2i+1), 0…100 (generate.py -iw)
  --init-noise K         start from seeded noise: pixels | gradient (generate.py -in; --init-image wins)
  --story-every N        with a prompt "a ^ b ^ c" (a story, at most 16): the next every N steps
  --zoom-every N         zoom video (generate.py -zvid): every N steps a frame, then zoom by
  --zoom-scale X           X (0.5…2, default 0.99) and shift by --zoom-shift-x/-y px (±64), re-encode
  --video FILE.webp      where the zoom video goes (animated WebP)
  --auto-stop-window N   stop when the mean loss of the last N steps (5…1000) fell by less than
  --auto-stop-delta X      X (default 0.001) times the N before's (off by default)
  --ep EP                auto | cpu | webgpu | cuda (default: $RENDERER_EP or auto)
  --threads N            CPU threads per operator (default 2; results depend on it)
  --quiet                no progress bar
`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A file named on the command line that cannot be read. */
class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number (got '${raw}')`);
  return Number(raw);
}

function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number (got '${raw}')`);
  return n;
}

/** A relative RENDERER_MODELS_DIR is looked up from the working directory, then the repository. */
function modelsDirOf(configured: string): string {
  if (path.isAbsolute(configured)) return configured;
  const here = path.resolve(configured);
  return existsSync(here) ? here : path.resolve(repoRoot, configured);
}

function parseImagePrompt(raw: string): { file: string; weight: number } {
  const m = /^(.*?)(?::([^:]*))?$/.exec(raw)!;
  const weight = m[2] === undefined ? 1 : Number(m[2]);
  if (!m[1] || !Number.isFinite(weight) || weight === 0)
    throw new UsageError(`--image-prompt takes FILE or FILE:WEIGHT with a non-zero weight (got '${raw}')`);
  return { file: m[1], weight };
}

/** The reference-loop flags as job fields; a bad value is a UsageError naming the flag and its range. */
function loopOptionsFrom(v: Record<string, string | boolean | string[] | undefined>): LoopOptions {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const raw = {
    loop: str('loop'),
    cutMethod: str('cut-method'),
    cutPow: num('cut-pow', str('cut-pow')),
    augments: str('augments') === undefined ? undefined : parseAugments(str('augments')!),
    cutNoise: num('cut-noise', str('cut-noise')),
    optimiser: str('optimiser'),
    initWeight: num('init-weight', str('init-weight')),
    initNoise: str('init-noise'),
    storyEvery: num('story-every', str('story-every')),
    autoStopWindow: num('auto-stop-window', str('auto-stop-window')),
    autoStopDelta: num('auto-stop-delta', str('auto-stop-delta')),
    zoomEvery: num('zoom-every', str('zoom-every')),
    zoomScale: num('zoom-scale', str('zoom-scale')),
    zoomShiftX: num('zoom-shift-x', str('zoom-shift-x')),
    zoomShiftY: num('zoom-shift-y', str('zoom-shift-y')),
  };
  const o = Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined)) as LoopOptions;
  const problem = loopOptionProblem(o);
  if (problem)
    throw new UsageError(
      `--${problem.option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${problem.message}`,
    );
  return o;
}

interface CliOptions {
  prompt: string;
  out: string;
  seed: number;
  steps: number | undefined;
  size: [number, number] | undefined;
  model: string;
  modelsDir: string;
  initImage: string | undefined;
  imagePrompts: { file: string; weight: number }[];
  timelapse: string | undefined;
  video: string | undefined;
  frameEvery: number | undefined;
  cutn: number | undefined;
  lr: number | undefined;
  loopOptions: LoopOptions;
  ep: ExecutionProviderChoice;
  webgpuOptions: Config['RENDERER_WEBGPU_OPTIONS'];
  logLevel: Config['LOG_LEVEL'];
  threads: number;
  quiet: boolean;
}

function parseCli(argv: string[], config: Config): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      size: { type: 'string' },
      model: { type: 'string' },
      'models-dir': { type: 'string' },
      'init-image': { type: 'string' },
      'image-prompt': { type: 'string', multiple: true },
      timelapse: { type: 'string' },
      video: { type: 'string' },
      'zoom-every': { type: 'string' },
      'zoom-scale': { type: 'string' },
      'zoom-shift-x': { type: 'string' },
      'zoom-shift-y': { type: 'string' },
      'frame-every': { type: 'string' },
      cutn: { type: 'string' },
      lr: { type: 'string' },
      loop: { type: 'string' },
      'cut-method': { type: 'string' },
      'cut-pow': { type: 'string' },
      augments: { type: 'string' },
      'cut-noise': { type: 'string' },
      optimiser: { type: 'string' },
      'init-weight': { type: 'string' },
      'init-noise': { type: 'string' },
      'story-every': { type: 'string' },
      'auto-stop-window': { type: 'string' },
      'auto-stop-delta': { type: 'string' },
      ep: { type: 'string' },
      threads: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length ? 'give the prompt as one quoted argument' : 'the prompt is missing',
    );
  if (!values.out) throw new UsageError('--out FILE.png is required');
  const ep = values.ep ?? config.RENDERER_EP;
  if (!['auto', 'cpu', 'webgpu', 'cuda'].includes(ep))
    throw new UsageError(`--ep must be auto, cpu, webgpu or cuda (got '${ep}')`);
  let size: [number, number] | undefined;
  if (values.size !== undefined) {
    const m = /^(\d+)x(\d+)$/i.exec(values.size);
    if (!m) throw new UsageError(`--size must look like 64x64 (got '${values.size}')`);
    size = [Number(m[1]), Number(m[2])];
  }
  const threads = int('threads', values.threads) ?? 2;
  if (threads < 1 || threads > 256) throw new UsageError('--threads must be from 1 to 256');
  return {
    prompt: positionals[0]!,
    out: values.out,
    seed: int('seed', values.seed) ?? randomInt(0, 2 ** 32 - 1),
    steps: int('steps', values.steps),
    size,
    model: values.model ?? config.RENDERER_MODEL,
    modelsDir: values['models-dir']
      ? path.resolve(values['models-dir'])
      : modelsDirOf(config.RENDERER_MODELS_DIR),
    initImage: values['init-image'],
    imagePrompts: (values['image-prompt'] ?? []).map(parseImagePrompt),
    timelapse: values.timelapse,
    video: values.video,
    frameEvery: int('frame-every', values['frame-every']),
    cutn: int('cutn', values.cutn),
    lr: num('lr', values.lr),
    loopOptions: loopOptionsFrom(values),
    ep: ep as ExecutionProviderChoice,
    webgpuOptions: config.RENDERER_WEBGPU_OPTIONS,
    logLevel: config.LOG_LEVEL,
    threads,
    quiet: values.quiet ?? false,
  };
}

/** A one-line progress bar on a TTY; a line per quarter otherwise. */
function progressPrinter(quiet: boolean): { update(p: RenderProgress): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let lastQuarter = 0;
  return {
    update(p) {
      if (quiet) return;
      const line = `${p.step}/${p.total} steps, ${p.itPerSec.toFixed(1)} it/s`;
      if (tty) {
        const width = 30;
        const filled = Math.round((p.step / p.total) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}  `);
      } else if (Math.floor((4 * p.step) / p.total) > lastQuarter) {
        lastQuarter = Math.floor((4 * p.step) / p.total);
        process.stderr.write(`${line}\n`);
      }
    },
    done() {
      if (!quiet && tty) process.stderr.write('\n');
    },
  };
}

async function readInput(file: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new InputFileError(
      `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

async function render(o: CliOptions): Promise<number> {
  for (const file of [o.out, o.timelapse, o.video]) {
    if (
      file &&
      !(await stat(path.dirname(path.resolve(file))).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      throw new InputFileError(`cannot write ${file}: its folder does not exist`);
    }
  }
  // a story: prompt lines separated by '^' (generate.py's -cpe), the next every --story-every steps
  const [parsed, ...story] = o.prompt.split('^').map((line) => {
    const r = parsePromptLine(line);
    if (!r.ok) throw new EngineInputError(r.error.message, r.error.identifier);
    return r;
  });
  if (!parsed) throw new UsageError('the prompt is missing');
  const initImage = o.initImage ? await readInput(o.initImage, 'init image') : undefined;
  const imagePrompts: WeightedPrompt[] = [];
  for (const p of o.imagePrompts)
    imagePrompts.push({ kind: 'image', image: await readInput(p.file, 'image prompt'), weight: p.weight });

  const log = pino({ level: o.logLevel, base: null }, pino.destination(2));
  const engine = await createOnnxEngine({
    modelsDir: o.modelsDir,
    model: o.model,
    ep: o.ep,
    webgpuOptions: o.webgpuOptions,
    log,
    intraOpNumThreads: o.threads,
  });
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const [dw, dh] = engine.manifest.image.defaultSize;
    const request: RenderRequest = {
      prompts: [...parsed.prompts.map((p): WeightedPrompt => ({ kind: 'text', ...p })), ...imagePrompts],
      seed: o.seed,
      width: o.size?.[0] ?? dw,
      height: o.size?.[1] ?? dh,
      steps: o.steps ?? engine.manifest.defaults.steps,
      cutn: o.cutn,
      lr: o.lr,
      ...o.loopOptions,
      story: story.length
        ? story.map((s) => s.prompts.map((p): WeightedPrompt => ({ kind: 'text', ...p })))
        : undefined,
      frameEvery: o.frameEvery,
      initImage,
    };
    if (!o.quiet)
      process.stderr.write(
        `tessera: ${engine.model} on ${engine.executionProvider}, seed ${o.seed}, ${request.steps} steps, ${request.width}x${request.height}\n`,
      );
    const frames: Uint8Array[] = [];
    const bar = progressPrinter(o.quiet);
    const result = await engine
      .render(request, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.frame && o.timelapse) frames.push(p.frame);
          bar.update(p);
        },
      })
      .finally(() => bar.done());
    await writeFile(o.out, result.png);
    if (o.video && result.video) await writeFile(o.video, result.video);
    if (o.timelapse) {
      const raws = await Promise.all(
        [...frames, result.png].map((f) => sharp(f).removeAlpha().raw().toBuffer()),
      );
      await writeFile(o.timelapse, await encodeTimelapse(raws, result.width, result.height));
    }
    if (!o.quiet)
      process.stderr.write(
        `tessera: wrote ${o.out}${o.timelapse ? ` and ${o.timelapse}` : ''} (${(result.elapsedMs / 1000).toFixed(1)} s)\n`,
      );
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await engine.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  let config: Config;
  try {
    // Configuration only through the table; a local render logs warnings only unless LOG_LEVEL says otherwise.
    config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tessera render: ${err.message}\n`);
    return 2;
  }
  try {
    const o = parseCli(argv, config);
    if (o === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    return await render(o);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (
      err instanceof UsageError ||
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    ) {
      process.stderr.write(`tessera render: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof EngineInputError) {
      process.stderr.write(`tessera render: ${e.message} [${err.identifier}]\n`);
      return 1;
    }
    if (err instanceof ModelBundleError || err instanceof InputFileError) {
      process.stderr.write(`tessera render: ${e.message}\n`);
      return 1;
    }
    if (e.name === 'AbortError') {
      process.stderr.write('tessera render: cancelled\n');
      return 130;
    }
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      process.stderr.write(`tessera render: ${e.message}\n`);
      return 1;
    }
    throw err;
  }
}
